"""The one label table (domain.vocabulary.LABELS) names every code the services publish, in Chinese
and English: the dashboard shows labels, never a raw code."""
from __future__ import annotations

import pytest

from services.analytics.domain.vocabulary import (CLASS_LABELS, DAILY_COLUMNS, FUNNEL_STAGES, LABELS, STAGE_LABELS,
                                                  TIER_LABELS, UNCATEGORISED, labels_document)
from services.followup.domain.complaints import ComplaintStatus
from services.followup.domain.tasks import TaskKind, TaskStatus
from services.grading.domain.intent import GradeRule
from services.grading.domain.lifecycle import DeclineSignal
from services.grading.domain.segments import CreditGrade, LifecycleStage, LoyaltyStage, ManagementClass, PyramidTier
from shared.events.enums import (Channel, ComplaintCategory, ComplaintSeverity, CustomerKind, FollowUpOutcome,
                                 IntentGrade, LossReason)

PUBLISHED = {
    "channel": set(Channel), "grade": set(IntentGrade), "funnel_stage": set(FUNNEL_STAGES),
    "daily_column": set(DAILY_COLUMNS), "complaint_category": {*ComplaintCategory, UNCATEGORISED},
    "complaint_severity": set(ComplaintSeverity), "complaint_status": set(ComplaintStatus),
    "loss_reason": set(LossReason), "customer_kind": set(CustomerKind), "pyramid_tier": set(PyramidTier),
    "management_class": set(ManagementClass), "lifecycle_stage": set(LifecycleStage),
    "credit_grade": set(CreditGrade), "loyalty_stage": set(LoyaltyStage), "decline_signal": set(DeclineSignal),
    "task_kind": set(TaskKind), "task_status": set(TaskStatus), "followup_outcome": set(FollowUpOutcome),
    "grade_rule": set(GradeRule),
}


@pytest.mark.parametrize("vocabulary", sorted(PUBLISHED))
def test_every_published_code_has_a_chinese_and_an_english_label(vocabulary):
    codes = LABELS[vocabulary]
    assert {str(c) for c in PUBLISHED[vocabulary]} <= set(codes), set(map(str, PUBLISHED[vocabulary])) - set(codes)
    for code, (zh, en) in codes.items():
        assert zh.strip() and en.strip() and zh != code and en != code, (vocabulary, code)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) or zh[0] in "OHABCV", (vocabulary, code, zh)


def test_no_vocabulary_is_labelled_that_no_service_publishes():
    assert set(LABELS) == set(PUBLISHED)


def test_the_reports_chinese_labels_come_from_the_table():
    assert TIER_LABELS == {"platinum": "铂金", "gold": "黄金", "iron": "钢铁", "lead": "重铅"}
    assert CLASS_LABELS["one_off"] == "一次性客户" and STAGE_LABELS["decline"] == "衰退期"
    assert all(TIER_LABELS[k] == zh for k, (zh, _) in LABELS["pyramid_tier"].items() if k in TIER_LABELS)


def test_the_served_document_is_every_label_in_both_languages():
    doc = labels_document()
    assert doc["complaint_category"]["after_sales_service"] == {"zh": "售后服务", "en": "After-sales service"}
    assert doc["pyramid_tier"]["iron"] == {"zh": "钢铁", "en": "Iron"}
    assert doc["loyalty_stage"]["follower"] == {"zh": "跟随者", "en": "Follower"}
    assert sum(len(v) for v in doc.values()) == sum(len(v) for v in LABELS.values())
