"""The search page (一键查询, 全溯源): one box over all history, and an incident's full trace."""
