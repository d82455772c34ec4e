"""The vocabularies of customer value grading (客户价值 / 客户细分), spec section 3.

Only names live here, so that the policy and every classifier can share them
without import cycles. Members are ordered best first where an order exists.
"""
from enum import StrEnum


class PyramidTier(StrEnum):
    """Value pyramid tier (顾客金字塔), by lifetime gross profit rank."""

    PLATINUM = "platinum"  # 铂金
    GOLD = "gold"  # 黄金
    IRON = "iron"  # 钢铁
    LEAD = "lead"  # 重铅


class ManagementClass(StrEnum):
    """Management class (从管理的角度对客户进行分类)."""

    KEY = "key"  # 大客户
    SUITABLE = "suitable"  # 合适客户
    GENERAL = "general"  # 一般客户
    ONE_OFF = "one_off"  # 一次性客户


class CreditGrade(StrEnum):
    """Credit grade (信用等级), five levels, best first."""

    BEST = "best"  # 最好
    GOOD = "good"  # 较好
    AVERAGE = "average"  # 一般
    POOR = "poor"  # 较差
    NONE = "none"  # 无信誉


class SizeBand(StrEnum):
    """Customer size by annual revenue (营业收入指标)."""

    BIG = "big"  # 大客户
    MEDIUM = "medium"  # 中型客户
    SMALL = "small"  # 小型客户
    OCCASIONAL = "occasional"  # 零星客户


class ShareStability(StrEnum):
    """Share stability (市场份额指标): our share of the customer's purchases."""

    STABLE = "stable"  # 稳定客户
    BASICALLY_STABLE = "basically_stable"  # 基本稳定客户
    UNSTABLE = "unstable"  # 不稳定客户
    VERY_UNSTABLE = "very_unstable"  # 极不稳定客户


class BusinessCondition(StrEnum):
    """The customer's own business condition (客户经营状况指标)."""

    SPECIAL = "special"  # 特级: profitable, stable
    FIRST = "first"  # 一级: break-even or slight profit
    SECOND = "second"  # 二级: losses, improving
    THIRD = "third"  # 三级: heavy losses, no turn


class LoyaltyStage(StrEnum):
    """Loyalty ladder (忠诚发展阶段), lowest first."""

    GENERAL_BUYER = "general_buyer"  # 普通购买者
    POTENTIAL_BUYER = "potential_buyer"  # 潜在购买者
    ORDINARY_CUSTOMER = "ordinary_customer"  # 普通客户
    FOLLOWER = "follower"  # 跟随者
    ADVOCATE = "advocate"  # 拥护者
    PARTNER = "partner"  # 合伙人

    @property
    def level(self) -> int:
        """0 for general buyer .. 5 for partner."""
        return list(LoyaltyStage).index(self)


class KeyAccountClass(StrEnum):
    """Cheverton's key-account matrix (关键客户识别与选择矩阵)."""

    KEY = "key"  # 关键客户: attractive, and we are strong
    KEY_DEVELOPMENT = "key_development"  # 关键发展客户: attractive, not yet won
    MAINTENANCE = "maintenance"  # 维持客户: we are strong, attractiveness falling
    OPPORTUNISTIC = "opportunistic"  # 机会主义客户: neither


class LifecycleStage(StrEnum):
    """Customer lifecycle stage (客户生命周期)."""

    EXPLORATION = "exploration"  # 考察期
    FORMATION = "formation"  # 发展期
    STABILITY = "stability"  # 稳定期
    DECLINE = "decline"  # 衰退期


LOYALTY_INDICATORS: tuple[str, ...] = (
    "repeat_purchases",  # 重复购买次数
    "cross_purchases",  # 交叉购买的数量
    "price_sensitivity",  # 对价格的敏感程度
    "incident_tolerance",  # 对产品或服务事故的宽容程度
    "time_to_choose",  # 购买时挑选商品的时间
    "referrals",  # 推荐行为
    "retention",  # 客户保持率
)
"""The seven loyalty indicators (客户忠诚度指标), in the seed's order."""
