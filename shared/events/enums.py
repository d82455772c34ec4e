"""Business vocabularies shared by every service through the event contract."""
from enum import StrEnum


class IntentGrade(StrEnum):
    """Prospect intent grade (有望客户级别), hottest first."""

    O = "O"  # order or deposit received (订单)
    H = "H"  # expected to buy within 7 days
    A = "A"  # within 1 month
    B = "B"  # within 1 to 3 months
    C = "C"  # more than 3 months, or undecided

    @property
    def rank(self) -> int:
        """0 for O (hottest) .. 4 for C."""
        return "OHABC".index(self.value)


class Channel(StrEnum):
    """Where a contact came from (潜在客户开发的来源)."""

    WALK_IN = "walk_in"  # 来店
    PHONE = "phone"  # 来电
    WEB_FORM = "web_form"
    CALL_CENTER = "call_center"
    EXHIBITION = "exhibition"  # 展示会 / roadshow
    TARGETED_PROSPECTING = "targeted_prospecting"  # 特定开拓
    AREA_CAMPAIGN = "area_campaign"  # 区域攻击
    CUSTOMER_REFERRAL = "customer_referral"  # 基盘: 汰换/增购/推介
    VIP_INFORMANT = "vip_informant"  # VIP情报
    INTERNAL_REFERRAL = "internal_referral"  # 内部情报
    SERVICE_STATION = "service_station"  # 服务站客户
    BULK_IMPORT = "bulk_import"


class PurchaseTimeframe(StrEnum):
    """The prospect's stated purchase time frame."""

    NOW = "now"  # buy-and-deliver now (现订现交)
    WITHIN_7_DAYS = "within_7_days"
    WITHIN_1_MONTH = "within_1_month"
    ONE_TO_3_MONTHS = "1_to_3_months"
    OVER_3_MONTHS = "over_3_months"
    UNDECIDED = "undecided"


class CustomerKind(StrEnum):
    """客户的分类."""

    CONSUMER = "consumer"  # 消费者客户
    BUSINESS = "business"  # 商业型客户
    INTERNAL = "internal"  # 企业内部客户


class CounterpartRole(StrEnum):
    """A business counterpart's role (供应商/贸易商/终端客户)."""

    SUPPLIER = "supplier"
    TRADER = "trader"
    END_CUSTOMER = "end_customer"


class LossReason(StrEnum):
    """Why a prospect was lost (战败原因)."""

    COMPETITOR = "competitor"
    PRICE = "price"
    NO_BUDGET = "no_budget"
    NEED_CHANGED = "need_changed"
    UNREACHABLE = "unreachable"
    OTHER = "other"


class ComplaintSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ComplaintCategory(StrEnum):
    """Root causes: the five service gaps (服务差距) and the operational ones."""

    PROMOTION_GAP = "promotion_gap"  # 促销差距
    UNDERSTANDING_GAP = "understanding_gap"  # 理解差距
    PROCEDURE_GAP = "procedure_gap"  # 程序差距
    BEHAVIOUR_GAP = "behaviour_gap"  # 行为差距
    PERCEPTION_GAP = "perception_gap"  # 感受差距
    PRODUCT_QUALITY = "product_quality"
    AFTER_SALES_SERVICE = "after_sales_service"
    DELIVERY = "delivery"
    BILLING = "billing"


class FollowUpOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    VISITED = "visited"
    DECLINED = "declined"


class ContactMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    MAIL = "mail"


class Role(StrEnum):
    """Roles carried in bearer tokens."""

    INTEGRATION = "integration"  # other company systems
    CONSULTANT = "consultant"  # sales consultant
    MANAGER = "manager"
    OPS = "ops"
