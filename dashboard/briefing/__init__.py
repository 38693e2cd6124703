"""The briefing feature: the /briefing page, its tables, charts and exports (HTML, PDF, CSV).

Every figure comes from qingzhi.core.briefing; this folder only lays them out, so the page,
`qingzhi briefing` and the scheduled briefing show the same numbers.
"""
