"""Names of incident types and categories, Chinese then English (type codes such as `theft.ebike`
come from the 110 system). One home for them: the pages' text and the core's own sentences (a level
suggestion's reason) read them here. A code with no entry is shown as the code itself: real feeds
bring types we cannot foresee.
"""

from __future__ import annotations

TYPE_NAMES = {
    "theft.ebike": ("盗窃电动车", "E-bike theft"),
    "theft.pickpocket": ("扒窃", "Pickpocketing"),
    "theft.burglary": ("入室盗窃", "Burglary"),
    "theft.shoplifting": ("商店盗窃", "Shoplifting"),
    "dispute.family": ("家庭纠纷", "Family dispute"),
    "dispute.neighbour": ("邻里纠纷", "Neighbour dispute"),
    "dispute.fight": ("打架斗殴", "Fight"),
    "dispute.commercial": ("消费纠纷", "Commercial dispute"),
    "traffic.accident": ("交通事故", "Traffic accident"),
    "traffic.violation": ("交通违法", "Traffic violation"),
    "traffic.obstruction": ("道路阻塞", "Road obstruction"),
    "fraud.scam": ("诈骗", "Scam"),
    "fraud.phone": ("电信诈骗", "Phone fraud"),
    "fraud.telecom": ("电信诈骗", "Telecom fraud"),
    "noise": ("噪音扰民", "Noise"),
    "noise.complaint": ("噪音扰民", "Noise complaint"),
    "public.drunk": ("醉酒滋事", "Drunk in public"),
    "help.lost_person": ("人员走失", "Lost person"),
    "help.lost": ("求助（走失）", "Help: lost"),
    "missing.person": ("人员走失", "Missing person"),
    "fire.alarm": ("火警", "Fire alarm"),
    "fight.street": ("街头斗殴", "Street fight"),
    "burglary.home": ("入室盗窃", "Home burglary"),
    "assault": ("殴打他人", "Assault"),
    "robbery": ("抢劫", "Robbery"),
    "other": ("其他", "Other"),
}

CATEGORY_NAMES = {
    "theft": ("盗窃", "Theft"),
    "dispute": ("纠纷", "Disputes"),
    "traffic": ("交通", "Traffic"),
    "fraud": ("诈骗", "Fraud"),
    "noise": ("噪音", "Noise"),
    "public": ("治安", "Public order"),
    "help": ("求助", "Assistance"),
    "missing": ("走失", "Missing"),
    "fire": ("火警", "Fire"),
    "fight": ("斗殴", "Fights"),
    "burglary": ("入室盗窃", "Burglary"),
    "assault": ("伤害", "Assault"),
    "robbery": ("抢劫", "Robbery"),
    "other": ("其他", "Other"),
}


def type_name(code: str, lang: str) -> str:
    """An incident type's name (`theft.ebike` → 盗窃电动车 / E-bike theft), else its code."""
    return _pick(TYPE_NAMES.get(code), code, lang)


def category_name(code: str, lang: str) -> str:
    """An incident category's name (`theft` → 盗窃 / Theft), else its code."""
    return _pick(CATEGORY_NAMES.get(code), code, lang)


def _pick(pair: tuple[str, str] | None, code: str, lang: str) -> str:
    return code if pair is None else pair[0] if lang == "zh" else pair[1]
