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

NOT_YET_VALUED = "not_yet_valued"
NOT_YET_VALUED_LABEL = "尚未评价"

# The one label table: every code a report, the 360 or the dashboard shows, by vocabulary, with its
# Chinese and English names (spec domain.md). The dashboard reads it whole (GET /dashboard/labels.json);
# a unit test keeps it complete against the enums the services publish.
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "channel": {
        "walk_in": ("来店", "Walk-in"), "phone": ("来电", "Phone call"), "web_form": ("网站表单", "Web form"),
        "call_center": ("呼叫中心", "Call center"), "exhibition": ("展示会", "Exhibition"),
        "targeted_prospecting": ("特定开拓", "Targeted prospecting"), "area_campaign": ("区域攻击", "Area campaign"),
        "customer_referral": ("基盘推介", "Customer referral"), "vip_informant": ("VIP情报", "VIP informant"),
        "internal_referral": ("内部情报", "Internal referral"), "service_station": ("服务站客户", "Service station"),
        "bulk_import": ("批量导入", "Bulk import")},
    "grade": {
        "O": ("O 订单", "O order"), "H": ("H 7天内购买", "H within 7 days"), "A": ("A 1个月内", "A within a month"),
        "B": ("B 1-3个月", "B in 1-3 months"), "C": ("C 3个月以上或未定", "C later or undecided")},
    "grade_rule": {
        "timeframe": ("购买时间", "Stated timeframe"), "initial_grade": ("初始级别", "Initial grade"),
        "channel_default": ("渠道默认", "Channel default"), "undecided": ("未定", "Undecided"),
        "deposit": ("定金", "Deposit"), "deal": ("成交", "Deal"), "buying_signal": ("购买信号", "Buying signal"),
        "repeat_visit": ("再次来店", "Repeat visit"), "missed_follow_ups": ("连续未回应", "Missed follow-ups"),
        "declined": ("拒绝", "Declined"), "override": ("人工调整", "Override"), "lost": ("战败", "Lost")},
    "funnel_stage": {
        "collected": ("收集", "Collected"), "qualified": ("合格", "Qualified"), "hot": ("热 (O/H)", "Hot (O/H)"),
        "orders": ("订单", "Orders"), "deals": ("成交", "Deals")},
    "daily_column": {
        "walk_ins": ("来店", "Walk-ins"), "calls": ("来电", "Calls"),
        "new_prospects_O": ("新增O级", "New O prospects"), "new_prospects_H": ("新增H级", "New H prospects"),
        "new_prospects_A": ("新增A级", "New A prospects"), "new_prospects_B": ("新增B级", "New B prospects"),
        "new_prospects_C": ("新增C级", "New C prospects"), "followups_due": ("应跟踪", "Follow-ups due"),
        "followups_done": ("跟踪完成", "Follow-ups done"), "followups_overdue": ("跟踪逾期", "Follow-ups overdue"),
        "orders": ("订单", "Orders"), "deliveries": ("交车", "Deliveries"), "losses": ("战败", "Lost")},
    "complaint_category": {
        "promotion_gap": ("促销差距", "Promotion gap"), "understanding_gap": ("理解差距", "Understanding gap"),
        "procedure_gap": ("程序差距", "Procedure gap"), "behaviour_gap": ("行为差距", "Behaviour gap"),
        "perception_gap": ("感受差距", "Perception gap"), "product_quality": ("产品质量", "Product quality"),
        "after_sales_service": ("售后服务", "After-sales service"), "delivery": ("交车", "Delivery"),
        "billing": ("收费", "Billing"), UNCATEGORISED: ("未分类", "Uncategorised")},
    "complaint_severity": {"low": ("轻微", "Low"), "medium": ("一般", "Medium"), "high": ("严重", "High")},
    "complaint_status": {"filed": ("已登记", "Filed"), "acknowledged": ("已受理", "Acknowledged"),
                         "resolved": ("已解决", "Resolved"), "surveyed": ("已回访", "Surveyed")},
    "loss_reason": {
        "competitor": ("购买竞品", "Bought a competitor's"), "price": ("价格", "Price"),
        "no_budget": ("无预算", "No budget"), "need_changed": ("需求改变", "Need changed"),
        "unreachable": ("联系不上", "Unreachable"), "other": ("其他", "Other")},
    "customer_kind": {"consumer": ("消费者客户", "Consumer"), "business": ("商业型客户", "Business"),
                      "internal": ("企业内部客户", "Internal")},
    "pyramid_tier": {"platinum": ("铂金", "Platinum"), "gold": ("黄金", "Gold"), "iron": ("钢铁", "Iron"),
                     "lead": ("重铅", "Lead"), NOT_YET_VALUED: (NOT_YET_VALUED_LABEL, "Not yet valued")},
    "management_class": {"key": ("大客户", "Key"), "suitable": ("合适客户", "Suitable"),
                         "general": ("一般客户", "General"), "one_off": ("一次性客户", "One-off"),
                         NOT_YET_VALUED: (NOT_YET_VALUED_LABEL, "Not yet valued")},
    "lifecycle_stage": {"exploration": ("考察期", "Exploration"), "formation": ("发展期", "Formation"),
                        "stability": ("稳定期", "Stability"), "decline": ("衰退期", "Decline"),
                        NOT_YET_VALUED: (NOT_YET_VALUED_LABEL, "Not yet valued")},
    "credit_grade": {"best": ("最好", "Best"), "good": ("较好", "Good"), "average": ("一般", "Average"),
                     "poor": ("较差", "Poor"), "none": ("无信誉", "No credit")},
    "loyalty_stage": {
        "general_buyer": ("普通购买者", "General buyer"), "potential_buyer": ("潜在购买者", "Potential buyer"),
        "ordinary_customer": ("普通客户", "Ordinary customer"), "follower": ("跟随者", "Follower"),
        "advocate": ("拥护者", "Advocate"), "partner": ("合伙人", "Partner")},
    "decline_signal": {"volume_halved": ("近90天量不足前90天一半", "90-day volume halved"),
                       "overdue_purchase": ("超过惯常间隔两倍未购买", "Purchase overdue")},
    "task_kind": {
        "first_contact": ("首次联系", "First contact"), "cadence": ("定期跟踪", "Follow-up by grade"),
        "delivery": ("交车作业", "Delivery"), "deal_3day_call": ("新车3日DC", "3-day call after a deal"),
        "service_3day_call": ("售后3日DC", "3-day call after service"), "birthday_care": ("车主生日", "Owner's birthday"),
        "anniversary_care": ("车辆生日", "Car's anniversary"), "base_maintenance": ("基盘维系", "Base maintenance"),
        "decline_recovery": ("衰退期挽回", "Decline recovery"),
        "complaint_survey": ("投诉满意度调查", "Complaint survey")},
    "task_status": {"open": ("未完成", "Open"), "overdue": ("逾期", "Overdue"), "done": ("已完成", "Done"),
                    "cancelled": ("已取消", "Cancelled")},
    "followup_outcome": {"reached": ("已联系上", "Reached"), "no_answer": ("未接通", "No answer"),
                         "visited": ("已拜访", "Visited"), "declined": ("已拒绝", "Declined")},
}


def chinese(vocabulary: str) -> dict[str, str]:
    """A vocabulary's Chinese names (what the reports' `label` fields carry)."""
    return {code: zh for code, (zh, _en) in LABELS[vocabulary].items() if code != NOT_YET_VALUED}


def labels_document() -> dict[str, dict[str, dict[str, str]]]:
    """The label table as the dashboard reads it: vocabulary -> code -> {zh, en}."""
    return {vocab: {code: {"zh": zh, "en": en} for code, (zh, en) in codes.items()}
            for vocab, codes in LABELS.items()}


# grading's published value vocabularies, in report order, with their Chinese names
TIERS = ("platinum", "gold", "iron", "lead")
TIER_LABELS = chinese("pyramid_tier")
CLASSES = ("key", "suitable", "general", "one_off")
CLASS_LABELS = chinese("management_class")
LIFECYCLE_STAGES = ("exploration", "formation", "stability", "decline")
STAGE_LABELS = chinese("lifecycle_stage")
PARETO_TOP_SHARE = Decimal("0.2")  # the "20" of 二八法则: the first ceil(20% of n) customers listed


def ordered(keys: set, known: tuple[str, ...]) -> list[str]:
    """The known values in their order, then any other published value (sorted), then 'not yet valued'."""
    others = sorted(k for k in keys if k not in known and k != NOT_YET_VALUED)
    return [*known, *others, *([NOT_YET_VALUED] if NOT_YET_VALUED in keys else [])]


def label(key: str, labels: dict[str, str]) -> str:
    return NOT_YET_VALUED_LABEL if key == NOT_YET_VALUED else labels.get(key, key)
