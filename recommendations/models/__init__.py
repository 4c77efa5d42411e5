"""The app's models, one module per area."""

from .events import Dashboard, Event, EventKind, VisitorLink
from .experiments import Experiment, ExperimentVariant, VariantKind
from .fraud import (
    CheckoutAttempt,
    DecisionReason,
    ReviewStatus,
    RiskAssessment,
    RiskLevel,
    RiskRule,
    RiskRuleCode,
    RiskSubject,
)
from .insights import (
    DemandDay,
    DemandForecast,
    PriceSuggestion,
    ProductInsight,
    StockStatus,
)
from .marketing import (
    Campaign,
    CampaignContent,
    ConditionKind,
    MatchMode,
    Segment,
    SegmentCondition,
    SegmentDailyCount,
    SegmentMember,
)
from .merchandising import Rule
from .privacy import ErasureRequest, Suppression
from .quarantine import QuarantineCount, QuarantinedVisitor, QuarantineReason
from .registry import ModelVersion, TrainingRun
from .serving import PrecomputedList

__all__ = [
    "Campaign",
    "CampaignContent",
    "CheckoutAttempt",
    "ConditionKind",
    "Dashboard",
    "DecisionReason",
    "DemandDay",
    "DemandForecast",
    "ErasureRequest",
    "Event",
    "EventKind",
    "Experiment",
    "ExperimentVariant",
    "MatchMode",
    "ModelVersion",
    "PrecomputedList",
    "PriceSuggestion",
    "ProductInsight",
    "QuarantineCount",
    "QuarantineReason",
    "QuarantinedVisitor",
    "ReviewStatus",
    "RiskAssessment",
    "RiskLevel",
    "RiskRule",
    "RiskRuleCode",
    "RiskSubject",
    "Rule",
    "Segment",
    "SegmentCondition",
    "SegmentDailyCount",
    "SegmentMember",
    "StockStatus",
    "Suppression",
    "TrainingRun",
    "VariantKind",
    "VisitorLink",
]
