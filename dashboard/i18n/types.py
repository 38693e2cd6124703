"""Names of incident types and categories, from the core's vocabulary (qingzhi.core.type_names)."""

from qingzhi.core.type_names import CATEGORY_NAMES, TYPE_NAMES

STRINGS = {f"type.{code}": pair for code, pair in TYPE_NAMES.items()} | {
    f"category.{code}": pair for code, pair in CATEGORY_NAMES.items()}
