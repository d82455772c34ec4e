"""The reports' vocabularies: the order rows come in and the labels they carry (one place for the
SQL reports and their reference definitions alike)."""
from __future__ import annotations

from decimal import Decimal

# 营业日报表: the columns of the daily business report, in order
DAILY_COLUMNS = ("walk_ins", "calls", "new_prospects_O", "new_prospects_H", "new_prospects_A", "new_prospects_B",
                 "new_prospects_C", "followups_due", "followups_done", "followups_overdue", "orders", "deliveries",
                 "losses")
UNCATEGORISED = "uncategorised"  # a complaint without a category
FUNNEL_STAGES = ("collected", "qualified", "hot", "orders", "deals")
GRADES = ("O", "H", "A", "B", "C")
LOSS_REASONS = ("competitor", "price", "no_budget", "need_changed", "unreachable", "other")

# grading's published value vocabularies, in report order, with their Chinese names
TIERS = ("platinum", "gold", "iron", "lead")
TIER_LABELS = {"platinum": "铂金", "gold": "黄金", "iron": "钢铁", "lead": "重铅"}
CLASSES = ("key", "suitable", "general", "one_off")
CLASS_LABELS = {"key": "大客户", "suitable": "合适客户", "general": "一般客户", "one_off": "一次性客户"}
LIFECYCLE_STAGES = ("exploration", "formation", "stability", "decline")
STAGE_LABELS = {"exploration": "考察期", "formation": "发展期", "stability": "稳定期", "decline": "衰退期"}
NOT_YET_VALUED = "not_yet_valued"
NOT_YET_VALUED_LABEL = "尚未评价"
PARETO_TOP_SHARE = Decimal("0.2")  # the "20" of 二八法则: the first ceil(20% of n) customers listed


def ordered(keys: set, known: tuple[str, ...]) -> list[str]:
    """The known values in their order, then any other published value (sorted), then 'not yet valued'."""
    others = sorted(k for k in keys if k not in known and k != NOT_YET_VALUED)
    return [*known, *others, *([NOT_YET_VALUED] if NOT_YET_VALUED in keys else [])]


def label(key: str, labels: dict[str, str]) -> str:
    return NOT_YET_VALUED_LABEL if key == NOT_YET_VALUED else labels.get(key, key)
