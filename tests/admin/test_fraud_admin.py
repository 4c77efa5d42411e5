"""The fraud review queue and the risk rules in admin, as staff use them."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from recommendations.fraud import review
from recommendations.fraud.rules import install_rules
from recommendations.models import (
    CheckoutAttempt,
    ReviewStatus,
    RiskAssessment,
    RiskLevel,
    RiskRule,
    RiskSubject,
)
from shop.models import Order

pytestmark = pytest.mark.django_db
QUEUE = "/admin/recommendations/riskassessment/"
RULES = "/admin/recommendations/riskrule/"


def _staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer(db) -> User:
    return _staff(
        "rita",
        "view_riskassessment",
        "change_riskassessment",
        "view_riskrule",
        "change_riskrule",
        "add_riskrule",
        "view_event",
    )


@pytest.fixture
def reviewer_client(reviewer: User) -> Client:
    return _client(reviewer)


def assess(
    key: str,
    score: int,
    level: str,
    status: str = ReviewStatus.OPEN,
    *,
    subject: str = RiskSubject.ORDER,
    reasons: list | None = None,
    user: User | None = None,
    visitor_id: str = "",
) -> RiskAssessment:
    return RiskAssessment.objects.create(
        subject=subject,
        key=key,
        user=user,
        visitor_id=visitor_id,
        score=score,
        level=level,
        status=status,
        reasons=reasons or [],
        scored_at=timezone.now(),
    )


def attempt(order_id: str = "", *, minutes_ago: int = 0, **fields) -> CheckoutAttempt:
    defaults = {
        "approved": bool(order_id),
        "email": "ann@example.com",
        "address": "1 high street london",
        "card_fingerprint": "card-a",
        "amount": Decimal("120.00"),
    }
    return CheckoutAttempt.objects.create(
        created=timezone.now() - timedelta(minutes=minutes_ago),
        order_id=order_id,
        **{**defaults, **fields},
    )


def order(number: str, email: str = "ann@example.com") -> Order:
    return Order.objects.create(
        number=number, email=email, status=Order.Status.PAID, total=Decimal("120.00")
    )


def queue_keys(response) -> list[str]:
    return [a.key for a in response.context["cl"].result_list]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def words(response) -> str:
    """The page as read: tags dropped."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode()))


# --- The queue ------------------------------------------------------------------------------------


def test_open_items_come_first_held_before_review_highest_score_first(reviewer_client):
    assess("review-60", 60, RiskLevel.REVIEW)
    assess("block-85", 85, RiskLevel.BLOCK)
    assess("dismissed-99", 99, RiskLevel.BLOCK, ReviewStatus.DISMISSED)
    assess("review-70", 70, RiskLevel.REVIEW)
    assess("allow-10", 10, RiskLevel.ALLOW, ReviewStatus.NOT_NEEDED)
    assess("block-95", 95, RiskLevel.BLOCK)

    response = reviewer_client.get(QUEUE)

    assert response.status_code == 200
    assert queue_keys(response) == [
        "block-95",
        "block-85",
        "review-70",
        "review-60",
        "dismissed-99",
        "allow-10",
    ]


def test_the_queue_filters_by_status_level_and_subject(reviewer_client, shopper):
    assess("1", 90, RiskLevel.BLOCK)
    assess("2", 60, RiskLevel.REVIEW)
    assess("3", 90, RiskLevel.BLOCK, ReviewStatus.CONFIRMED)
    assess(str(shopper.pk), 65, RiskLevel.REVIEW, subject=RiskSubject.VISITOR, user=shopper)

    held = reviewer_client.get(QUEUE, {"status__exact": "open", "level__exact": "block"})
    assert queue_keys(held) == ["1"]
    visitors = reviewer_client.get(QUEUE, {"subject__exact": "visitor"})
    assert queue_keys(visitors) == [str(shopper.pk)]
    confirmed = reviewer_client.get(QUEUE, {"status__exact": "confirmed"})
    assert queue_keys(confirmed) == ["3"]
    page = text(reviewer_client.get(QUEUE))
    for choice in ("Waiting for review", "Block (held for review)", "Visitor"):
        assert choice in page  # the filters offer the choices by name


def test_the_queue_finds_orders_by_the_checkout_e_mail(reviewer_client, shopper):
    attempt("7", email="guest@example.com")
    attempt("8", email="other@example.com")
    assess("7", 85, RiskLevel.BLOCK)
    assess("8", 85, RiskLevel.BLOCK)
    assess(str(shopper.pk), 60, RiskLevel.REVIEW, subject=RiskSubject.VISITOR, user=shopper)

    assert queue_keys(reviewer_client.get(QUEUE, {"q": "Guest@example.com"})) == ["7"]
    assert queue_keys(reviewer_client.get(QUEUE, {"q": "ann@example.com"})) == [str(shopper.pk)]


def test_the_queue_names_orders_and_people_and_reads_the_rules(reviewer_client, shopper):
    placed = order("W261201-ABCD1234")
    attempt(str(placed.pk), email="ann@example.com")
    assess(
        str(placed.pk),
        85,
        RiskLevel.BLOCK,
        reasons=[{"rule": "card_velocity", "points": 45, "detail": "3 cards in 60 minutes"}],
    )
    assess("9999", 55, RiskLevel.REVIEW)  # an order the store no longer knows
    attempt("9999", email="bob@example.com")
    assess(str(shopper.pk), 60, RiskLevel.REVIEW, subject=RiskSubject.VISITOR, user=shopper)
    assess("v:3f9a", 70, RiskLevel.REVIEW, subject=RiskSubject.VISITOR, visitor_id="3f9a")

    page = text(reviewer_client.get(QUEUE))

    assert f"Order W261201-ABCD1234 (#{placed.pk}) · ann@example.com" in page
    assert "Order #9999 · bob@example.com" in page
    assert "ann (ann@example.com)" in page
    assert "Visitor 3f9a" in page
    assert "Many distinct cards from one person (+45 points): 3 cards in 60 minutes" in page


def test_the_review_page_shows_the_rules_and_the_linked_attempts(reviewer_client):
    RiskRule.objects.update_or_create(
        code="failed_payments", defaults={"threshold": 3, "window_minutes": 30, "weight": 40}
    )
    placed = order("W261201-0000AAAA")
    attempt(str(placed.pk), minutes_ago=0, card_fingerprint="card-a")
    attempt(
        email="other@example.com",
        address="3 low road",
        card_fingerprint="card-a",
        minutes_ago=10,
        approved=False,
    )
    attempt(
        email="ann@example.com", address="9 elsewhere", card_fingerprint="card-z", minutes_ago=20
    )
    attempt(email="late@example.com", card_fingerprint="card-a", minutes_ago=90)  # out of window
    attempt(email="stranger@example.com", address="2 far road", card_fingerprint="card-q")
    assessment = assess(
        str(placed.pk),
        88,
        RiskLevel.BLOCK,
        reasons=[
            {"rule": "failed_payments", "points": 40, "detail": "4 refused payments in 30 min"},
            {"rule": "new_account_high_value", "points": 48, "detail": "account 2 hours old"},
        ],
    )

    response = reviewer_client.get(f"{QUEUE}{assessment.pk}/change/")

    assert response.status_code == 200
    page = text(response)
    assert "Review: Order W261201-0000AAAA" in page
    assert "Many failed payments (+40 points): 4 refused payments in 30 min" in page
    assert "New account placing a high-value order (+48 points): account 2 hours old" in page
    linked = response.context["attempts"].linked
    assert {(a.attempt.email, a.shares) for a in linked} == {
        ("other@example.com", ("same card",)),
        ("ann@example.com", ("same e-mail",)),
    }
    assert "other@example.com" in page and "Payment refused" in page
    assert "late@example.com" not in page and "stranger@example.com" not in page
    assert "within 30 minutes of these" in page


def test_linked_attempts_span_the_widest_window_of_the_rules_that_tripped(db, shopper):
    RiskRule.objects.update_or_create(code="shared_address", defaults={"window_minutes": 3 * 1440})
    RiskRule.objects.update_or_create(code="order_velocity", defaults={"window_minutes": 120})
    attempt(user=shopper, email="ann@example.com", address="1 high street london")
    attempt(
        email="x@example.com",
        address="1 high street london",
        card_fingerprint="b",
        minutes_ago=2 * 1440,
    )
    attempt(
        email="y@example.com",
        address="1 high street london",
        card_fingerprint="c",
        minutes_ago=4 * 1440,
    )
    visitor = assess(
        str(shopper.pk),
        60,
        RiskLevel.REVIEW,
        subject=RiskSubject.VISITOR,
        user=shopper,
        reasons=[
            {"rule": "shared_address", "points": 50},
            {"rule": "order_velocity", "points": 10},
        ],
    )

    found = review.related_attempts(visitor)

    assert [a.user for a in found.own] == [shopper]
    assert [(a.attempt.email, a.shares) for a in found.linked] == [
        ("x@example.com", ("same address",))
    ]
    assert found.window == "3 days"


# --- Decisions ------------------------------------------------------------------------------------


def test_a_decision_without_a_reason_is_refused_naming_the_reason(reviewer_client):
    assessment = assess("1", 90, RiskLevel.BLOCK)
    url = f"{QUEUE}{assessment.pk}/change/"

    response = reviewer_client.post(url, {"decision": "confirm", "reason": "", "note": "x"})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == ["A decision needs a reason: choose one."]
    assert "A decision needs a reason" in text(response)
    assessment.refresh_from_db()
    assert assessment.status == ReviewStatus.OPEN and assessment.reviewed_by is None


def test_a_reason_that_contradicts_the_decision_is_refused(reviewer_client):
    assessment = assess("1", 90, RiskLevel.BLOCK)
    url = f"{QUEUE}{assessment.pk}/change/"

    confirmed_as_legitimate = reviewer_client.post(
        url, {"decision": "confirm", "reason": "legitimate"}
    )
    dismissed_as_stolen = reviewer_client.post(
        url, {"decision": "dismiss", "reason": "stolen_card"}
    )
    no_decision = reviewer_client.post(url, {"reason": "bot"})

    assert confirmed_as_legitimate.context["form"].errors["reason"] == [
        "“Legitimate customer” is a reason to dismiss, not to confirm."
    ]
    assert (
        "reason to confirm, not to dismiss"
        in dismissed_as_stolen.context["form"].errors["reason"][0]
    )
    assert no_decision.context["form"].errors["decision"] == ["Choose to confirm or to dismiss."]
    assessment.refresh_from_db()
    assert assessment.status == ReviewStatus.OPEN


def test_a_decision_is_recorded_and_leaves_the_open_queue(reviewer_client, reviewer):
    held = assess("1", 90, RiskLevel.BLOCK)
    assess("2", 60, RiskLevel.REVIEW)
    url = f"{QUEUE}{held.pk}/change/?_changelist_filters=status__exact%3Dopen"

    response = reviewer_client.post(
        url, {"decision": "dismiss", "reason": "legitimate", "note": "Called the customer."}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?status__exact=open"
    held.refresh_from_db()
    assert held.status == ReviewStatus.DISMISSED
    assert held.decision_reason == "legitimate" and held.note == "Called the customer."
    assert held.reviewed_by == reviewer
    assert timezone.now() - held.reviewed_at < timedelta(minutes=1)
    queue = reviewer_client.get(response["Location"])
    assert queue_keys(queue) == ["2"]
    assert "Dismissed (Legitimate customer): Order #1" in text(queue)
    entry = LogEntry.objects.get(object_id=str(held.pk))
    assert entry.user == reviewer and "Legitimate customer" in entry.change_message
    page = words(reviewer_client.get(f"{QUEUE}{held.pk}/change/"))
    assert "Dismissed (Legitimate customer) by rita (rita@example.com)" in page
    assert "Called the customer." in page


def test_a_dismissed_order_is_released_and_a_confirmed_one_stays_held(
    reviewer_client, django_capture_on_commit_callbacks
):
    dismissed, confirmed = order("W1-AAAA"), order("W1-BBBB")
    Order.objects.update(held_for_review=True)
    first = assess(str(dismissed.pk), 85, RiskLevel.BLOCK)
    second = assess(str(confirmed.pk), 85, RiskLevel.BLOCK)

    with django_capture_on_commit_callbacks(execute=True):
        reviewer_client.post(
            f"{QUEUE}{first.pk}/change/", {"decision": "dismiss", "reason": "legitimate"}
        )
        reviewer_client.post(
            f"{QUEUE}{second.pk}/change/", {"decision": "confirm", "reason": "stolen_card"}
        )

    dismissed.refresh_from_db()
    confirmed.refresh_from_db()
    assert not dismissed.held_for_review and confirmed.held_for_review


def test_review_functions_record_who_when_and_why(reviewer):
    assessment = assess("1", 90, RiskLevel.BLOCK)

    review.confirm(assessment, reviewer, "card_testing", "  ten cards in a minute ")

    stored = RiskAssessment.objects.get(pk=assessment.pk)
    assert (stored.status, stored.decision_reason, stored.note) == (
        ReviewStatus.CONFIRMED,
        "card_testing",
        "ten cards in a minute",
    )
    assert stored.reviewed_by == reviewer and stored.reviewed_at is not None
    with pytest.raises(review.DecisionError) as refused:
        review.dismiss(assessment, reviewer, "")
    assert refused.value.field == "reason"
    with pytest.raises(review.DecisionError):
        review.dismiss(assessment, reviewer, "no-such-reason")


def test_many_assessments_are_decided_at_once_with_one_reason(reviewer_client, reviewer):
    burst = [assess(str(n), 85, RiskLevel.BLOCK) for n in range(1, 4)]
    kept = assess("4", 60, RiskLevel.REVIEW)
    chosen = {"action": "decide_selected", "_selected_action": [a.pk for a in burst[:2]]}

    asked = reviewer_client.post(QUEUE, chosen)
    missing = reviewer_client.post(QUEUE, {**chosen, "apply": "1", "decision": "confirm"})
    done = reviewer_client.post(
        QUEUE, {**chosen, "apply": "1", "decision": "confirm", "reason": "card_testing"}
    )

    assert asked.status_code == 200 and "Order #1" in text(asked)
    assert missing.status_code == 200 and "reason" in missing.context["form"].errors
    assert done.status_code == 302
    statuses = dict(RiskAssessment.objects.values_list("key", "status"))
    assert statuses == {"1": "confirmed", "2": "confirmed", "3": "open", "4": "open"}
    assert RiskAssessment.objects.get(key="1").reviewed_by == reviewer
    assert kept.status == ReviewStatus.OPEN


# --- Permissions ----------------------------------------------------------------------------------


def test_staff_without_the_permissions_are_refused(db):
    assessment = assess("1", 90, RiskLevel.BLOCK)
    RiskRule.objects.update_or_create(code="anomaly", defaults={"threshold": 0.8})
    intern = _client(_staff("intern"))

    assert intern.get(QUEUE).status_code == 403
    assert intern.get(f"{QUEUE}{assessment.pk}/change/").status_code == 403
    refused = intern.post(
        f"{QUEUE}{assessment.pk}/change/", {"decision": "confirm", "reason": "bot"}
    )
    assert refused.status_code == 403
    assert intern.get(RULES).status_code == 403
    assessment.refresh_from_db()
    assert assessment.status == ReviewStatus.OPEN


def test_staff_who_may_only_view_see_the_review_but_cannot_decide(db):
    assessment = assess("1", 90, RiskLevel.BLOCK, reasons=[{"rule": "anomaly", "points": 90}])
    viewer = _client(_staff("vic", "view_riskassessment"))

    page = viewer.get(f"{QUEUE}{assessment.pk}/change/")
    posted = viewer.post(
        f"{QUEUE}{assessment.pk}/change/", {"decision": "confirm", "reason": "bot"}
    )

    assert page.status_code == 200 and "Unusual behaviour (anomaly score) (+90 points)" in text(
        page
    )
    assert page.context["form"] is None and "Confirm fraud or bot" not in text(page)
    assert posted.status_code == 403
    assessment.refresh_from_db()
    assert assessment.status == ReviewStatus.OPEN


def test_an_unknown_assessment_is_a_404(reviewer_client):
    assert reviewer_client.get(f"{QUEUE}12345/change/").status_code == 404
    assert reviewer_client.get(f"{QUEUE}not-a-number/change/").status_code == 404


# --- Rules and their precision --------------------------------------------------------------------


def _decided_set() -> None:
    """Velocity confirmed twice and dismissed once; failed payments confirmed once, dismissed
    once; one open assessment that counts for neither."""
    velocity = {"rule": "order_velocity", "points": 40, "detail": ""}
    failed = {"rule": "failed_payments", "points": 30, "detail": ""}
    assess("1", 70, RiskLevel.REVIEW, ReviewStatus.CONFIRMED, reasons=[velocity, failed])
    assess("2", 70, RiskLevel.REVIEW, ReviewStatus.CONFIRMED, reasons=[velocity])
    assess("3", 70, RiskLevel.REVIEW, ReviewStatus.DISMISSED, reasons=[velocity])
    assess("4", 70, RiskLevel.REVIEW, ReviewStatus.DISMISSED, reasons=[failed])
    assess("5", 70, RiskLevel.REVIEW, ReviewStatus.OPEN, reasons=[velocity, failed])


def test_rule_precision_counts_decided_assessments_each_rule_contributed_to(db):
    _decided_set()

    precision = review.rule_precision()

    assert (precision["order_velocity"].confirmed, precision["order_velocity"].dismissed) == (2, 1)
    assert precision["order_velocity"].precision == pytest.approx(2 / 3)
    assert (precision["failed_payments"].confirmed, precision["failed_payments"].dismissed) == (
        1,
        1,
    )
    assert precision["failed_payments"].precision == 0.5
    assert "card_velocity" not in precision


def test_the_rule_list_shows_each_rules_precision(reviewer_client):
    for code in ("order_velocity", "failed_payments", "card_velocity"):
        RiskRule.objects.update_or_create(code=code, defaults={"threshold": 3, "weight": 30})
    _decided_set()

    page = text(reviewer_client.get(RULES))

    rows = {
        name: re.search(rf"{re.escape(name)}.*?</tr>", page).group(0)
        for name in (
            "Many orders from one person in a short time",
            "Many failed payments",
            "Many distinct cards from one person",
        )
    }
    velocity = rows["Many orders from one person in a short time"]
    assert "67%" in velocity and "2 confirmed · 1 dismissed" in velocity
    failed = rows["Many failed payments"]
    assert "50%" in failed and "1 confirmed · 1 dismissed" in failed
    assert "None yet" in rows["Many distinct cards from one person"]


def test_a_rule_is_switched_and_tuned_in_admin(reviewer_client):
    rule, _ = RiskRule.objects.update_or_create(
        code="order_velocity", defaults={"threshold": 3, "window_minutes": 60, "weight": 30}
    )
    url = f"{RULES}{rule.pk}/change/"
    form = {"enabled": "", "threshold": "5", "window_minutes": "120", "weight": "45"}

    page = reviewer_client.get(url)
    too_heavy = reviewer_client.post(url, {**form, "weight": "150"})
    saved = reviewer_client.post(url, form)

    assert page.status_code == 200 and "Many orders from one person" in text(page)
    assert "Trips at this many orders (the scored one included) within the window." in text(page)
    assert "Minutes either side of the order that are counted. Default: 60." in text(page)
    assert "weight" in too_heavy.context["adminform"].form.errors
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.enabled, rule.threshold, rule.window_minutes, rule.weight) == (False, 5, 120, 45)
    assert reviewer_client.get(RULES, {"enabled__exact": "0"}).context["cl"].result_count == 1


def test_rules_are_turned_off_and_on_from_the_list(reviewer_client):
    install_rules()
    chosen = list(RiskRule.objects.filter(code__in=["anomaly", "bot_browsing"]))
    selected = {"_selected_action": [r.pk for r in chosen]}

    off = reviewer_client.post(RULES, {"action": "turn_off", **selected}, follow=True)

    assert "2 rules turned off." in text(off)
    assert set(RiskRule.objects.filter(enabled=False).values_list("code", flat=True)) == {
        "anomaly",
        "bot_browsing",
    }
    reviewer_client.post(RULES, {"action": "turn_on", **selected})
    assert not RiskRule.objects.filter(enabled=False).exists()


def test_only_rules_without_a_row_can_be_added(reviewer_client):
    install_rules()  # every rule has its row after migrate
    assert reviewer_client.get(f"{RULES}add/").status_code == 403
    RiskRule.objects.filter(code="failed_payments").delete()

    choices = reviewer_client.get(f"{RULES}add/").context["adminform"].form.fields["code"].choices

    assert {value for value, _ in choices} == {"failed_payments"}


# --- Badge and charts -----------------------------------------------------------------------------


def _held_and_open() -> None:
    assess("1", 90, RiskLevel.BLOCK)
    assess("2", 85, RiskLevel.BLOCK)
    assess("3", 90, RiskLevel.BLOCK, ReviewStatus.CONFIRMED)
    assess("v:x", 95, RiskLevel.BLOCK, subject=RiskSubject.VISITOR, visitor_id="x")
    assess("4", 60, RiskLevel.REVIEW)
    assess("5", 10, RiskLevel.ALLOW, ReviewStatus.NOT_NEEDED)


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/recommendations/", "/admin/recommendations/event/dashboard/"]
)
def test_the_badge_counts_held_orders_and_open_reviews(reviewer_client, url):
    _held_and_open()

    page = text(reviewer_client.get(url))

    assert page.count('class="recommendations-risk-badge') == 1
    badge = re.search(r'class="recommendations-risk-badge.*?</p>', page).group(0)
    assert "<strong>2</strong> held orders" in badge
    assert "<strong>4</strong> open reviews" in badge
    held = f"{QUEUE}?status__exact=open&amp;level__exact=block&amp;subject__exact=order"
    assert held in badge


def test_the_badge_links_to_the_queue_it_counts(reviewer_client):
    _held_and_open()

    held = reviewer_client.get(
        QUEUE, {"status__exact": "open", "level__exact": "block", "subject__exact": "order"}
    )

    assert sorted(queue_keys(held)) == ["1", "2"]
    assert review.open_counts() == review.OpenCounts(held_orders=2, reviews=4)


def test_the_badge_is_not_shown_without_the_view_permission(db):
    _held_and_open()
    other = _client(_staff("ed", "view_event"))

    assert "recommendations-risk-badge" not in text(other.get("/admin/"))


def test_the_queue_charts_flags_per_level_and_decisions_per_day(reviewer_client, reviewer):
    assess("1", 90, RiskLevel.BLOCK)
    assess("2", 60, RiskLevel.REVIEW)
    earlier = assess("3", 65, RiskLevel.REVIEW)
    RiskAssessment.objects.filter(pk=earlier.pk).update(created=timezone.now() - timedelta(days=2))
    assess("4", 10, RiskLevel.ALLOW, ReviewStatus.NOT_NEEDED)
    review.confirm(RiskAssessment.objects.get(key="1"), reviewer, "stolen_card")

    response = reviewer_client.get(QUEUE)

    flags = {d["label"]: d["data"] for d in response.context["flag_chart"]["datasets"]}
    assert set(flags) == {"Review", "Block (held for review)"}
    assert flags["Review"][-1] == 1 and flags["Review"][-3] == 1 and sum(flags["Review"]) == 2
    assert flags["Block (held for review)"][-1] == 1
    decisions = {d["label"]: d["data"] for d in response.context["decision_chart"]["datasets"]}
    assert decisions["Confirmed fraud or bot"][-1] == 1 and sum(decisions["Dismissed"]) == 0
    page = response.content.decode()
    assert 'data-chart="chart-risk-flags"' in page and 'id="chart-risk-flags"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
