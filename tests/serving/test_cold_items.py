"""A product with no events gets content neighbours in the similar slot as soon as it is saved."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models.signals import post_save

from recommendations.precompute import refresh_content_neighbours
from recommendations.receivers import _ContentBatch
from recommendations.serving.pipeline import Audience, recommend
from recommendations.stores import CONTENT_LABEL, get_store
from recommendations.types import ReasonKind, Slot
from shop.models import Category, Product
from tests.processes import ROOT, child_env, stop, wait_for

pytestmark = pytest.mark.django_db

TITLES = {
    "Kitchen": [
        ("Enamel coffee mug", "A white enamel mug for coffee at the campsite."),
        ("Ceramic coffee mug", "A glazed ceramic mug that keeps coffee warm."),
        ("Stainless steel kettle", "Boils water on any hob."),
        ("Bread knife", "Serrated blade for crusty loaves."),
        ("Salad bowl", "Olive wood bowl."),
    ],
    "Garden": [
        ("Garden hose", "Thirty metres of green hose."),
        ("Watering can", "Galvanised steel can with a long spout."),
        ("Pruning shears", "Bypass shears to cut roses."),
    ],
}


@pytest.fixture
def shop() -> dict[str, Product]:
    """Products by title, as an import leaves them (``bulk_create``: no signals, no lists)."""
    products = []
    for name, rows in TITLES.items():
        category = Category.objects.create(name=name, slug=name.lower())
        products += [
            Product(
                sku=f"{name[:3].upper()}{i}",
                title=title,
                description=description,
                category=category,
                price=Decimal("9.00"),
                stock=5,
            )
            for i, (title, description) in enumerate(rows)
        ]
    return {p.title: p for p in Product.objects.bulk_create(products)}


def new_mug(sku: str = "NEW1", title: str = "Blue enamel coffee mug") -> Product:
    return Product.objects.create(
        sku=sku,
        title=title,
        description="An enamel mug for your morning coffee.",
        category=Category.objects.get(name="Kitchen"),
        price=Decimal("12.00"),
        stock=3,
    )


def similar(product: Product, limit: int = 4):
    return recommend(Slot.SIMILAR, Audience(), item_id=str(product.pk), limit=limit)


def test_a_saved_product_gets_content_neighbours_with_their_reason(
    shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mug = new_mug()
    key = f"item:{mug.pk}:similar"
    assert get_store().model_version(key) == CONTENT_LABEL
    by_id = {str(p.pk): title for title, p in shop.items()}
    stored = [by_id[item_id] for item_id, _ in get_store().get_many([key])[key]]
    # Shared words first; then the category alone; nothing that shares neither (the garden).
    assert stored[:2] == ["Enamel coffee mug", "Ceramic coffee mug"]
    assert set(stored[2:]) == {"Stainless steel kettle", "Bread knife", "Salad bowl"}

    result = similar(mug)
    assert [r.item.title for r in result][:2] == ["Enamel coffee mug", "Ceramic coffee mug"]
    assert len(result) == 4  # the category cap holds the rest of the kitchen back: backfilled
    first = result.items[0]
    assert first.reason.kind is ReasonKind.SIMILAR_CONTENT
    assert first.reason.about == str(mug.pk)
    assert first.reason_text == "Similar in name, description or category to Blue enamel coffee mug"
    assert "content" in result.sources and "content" in result.token.split(".")[1].split("+")


def test_exact_filters_and_rules_still_apply_to_content_neighbours(
    shop, django_capture_on_commit_callbacks
):
    Product.objects.filter(pk=shop["Enamel coffee mug"].pk).update(stock=0)
    with django_capture_on_commit_callbacks(execute=True):
        mug = new_mug()
    titles = [r.item.title for r in similar(mug)]
    assert "Enamel coffee mug" not in titles and titles[0] == "Ceramic coffee mug"


def test_without_a_commit_nothing_is_computed(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        mug = new_mug()
    assert [c for c in callbacks if isinstance(c, _ContentBatch)]
    assert get_store().get_many([f"item:{mug.pk}:similar"]) == {}
    assert {r.reason.kind for r in similar(mug)} <= {ReasonKind.TRENDING, ReasonKind.POPULAR}


def test_a_trained_similar_list_is_kept(shop, django_capture_on_commit_callbacks):
    mug = shop["Enamel coffee mug"]
    trained = [(str(shop["Garden hose"].pk), 0.9), (str(shop["Bread knife"].pk), 0.4)]
    store = get_store()
    store.put_many({f"item:{mug.pk}:similar": trained}, model_version="itemknn-7")
    with django_capture_on_commit_callbacks(execute=True):
        mug.title = "Enamel coffee mug, large"
        mug.save()
    assert store.get_many([f"item:{mug.pk}:similar"])[f"item:{mug.pk}:similar"] == trained
    assert store.model_version(f"item:{mug.pk}:similar") == "itemknn-7"
    first = similar(mug).items[0]
    assert first.item.title == "Garden hose" and first.reason.kind is ReasonKind.SIMILAR


def test_a_training_run_replaces_the_content_list(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mug = new_mug()
    hose = str(shop["Garden hose"].pk)
    get_store().put_many({f"item:{mug.pk}:similar": [(hose, 0.7)]}, model_version="itemknn-8")
    first = similar(mug).items[0]
    assert first.item.item_id == hose and first.reason.kind is ReasonKind.SIMILAR
    assert refresh_content_neighbours([str(mug.pk)]) == 0  # a later save changes nothing
    assert get_store().model_version(f"item:{mug.pk}:similar") == "itemknn-8"


def test_an_edited_product_gets_fresh_content_neighbours(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        product = new_mug(title="Bread board")
    with django_capture_on_commit_callbacks(execute=True):
        product.title, product.description = "Green garden hose reel", "Winds up a garden hose."
        product.category = Category.objects.get(name="Garden")
        product.save()
    assert similar(product).items[0].item.title == "Garden hose"


def test_products_saved_in_one_transaction_share_one_task(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        first, second = new_mug("NEW1"), new_mug("NEW2", "Red enamel coffee mug")
    batches = [c for c in callbacks if isinstance(c, _ContentBatch)]
    assert len(batches) == 1 and batches[0].ids == {str(first.pk), str(second.pk)}
    batches[0]()
    lists = get_store().get_many([f"item:{first.pk}:similar", f"item:{second.pk}:similar"])
    assert lists[f"item:{first.pk}:similar"][0][0] == str(second.pk)


def test_raw_fixture_loads_are_skipped(shop, django_capture_on_commit_callbacks):
    mug = shop["Enamel coffee mug"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post_save.send(sender=Product, instance=mug, created=True, raw=True, using="default")
    assert not [c for c in callbacks if isinstance(c, _ContentBatch)]


def test_fill_many_never_overwrites_another_label(shop):
    store = get_store()
    store.put_many({"item:a:similar": [("1", 1.0)]}, model_version="ease-3")
    store.put_many({"item:b:similar": [("1", 1.0)]}, model_version=CONTENT_LABEL)
    written = store.fill_many(
        {key: [("2", 0.5)] for key in ("item:a:similar", "item:b:similar", "item:c:similar")},
        model_version=CONTENT_LABEL,
    )
    assert written == 2
    lists = store.get_many_labelled(["item:a:similar", "item:b:similar", "item:c:similar"])
    assert lists == {
        "item:a:similar": ([("1", 1.0)], "ease-3"),
        "item:b:similar": ([("2", 0.5)], CONTENT_LABEL),
        "item:c:similar": ([("2", 0.5)], CONTENT_LABEL),
    }


@pytest.mark.django_db(transaction=True)
def test_a_real_commit_runs_the_task(shop):
    """No captured callbacks: the commit itself queues the task (eager here, as in embedded
    mode), in autocommit at once, in a transaction when it commits."""
    kettle = Product.objects.create(
        sku="NEW0",
        title="Copper kettle",
        category=Category.objects.get(name="Kitchen"),
        price=Decimal("30.00"),
        stock=1,
    )
    neighbours = get_store().get_many([f"item:{kettle.pk}:similar"])[f"item:{kettle.pk}:similar"]
    assert neighbours[0][0] == str(shop["Stainless steel kettle"].pk)
    with transaction.atomic():
        mug = new_mug()
        assert get_store().get_many([f"item:{mug.pk}:similar"]) == {}
    assert similar(mug).items[0].reason.kind is ReasonKind.SIMILAR_CONTENT


def test_the_web_side_imports_neither_torch_nor_scikit_learn_nor_statsforecast():
    """Web processes import the receiver, the tasks, admin and the API; scikit-learn loads only
    where a task computes, the features it computes with never need torch, and the forecasting
    library (with pandas) loads only in the nightly insights run."""
    script = (
        "import os, sys\n"
        "class NoTorch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError(name)\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'shop.settings'\n"
        "import django\n"
        "django.setup()\n"
        "import recommendations.receivers, recommendations.tasks, recommendations.precompute\n"
        "import recommendations.serving.pipeline, recommendations.admin, recommendations.urls\n"
        "web = sorted(m for m in ('torch', 'sklearn', 'statsforecast', 'pandas')"
        " if m in sys.modules)\n"
        "from recommendations.engine.features import item_features\n"
        "rows = item_features(['enamel mug', 'steel mug'], categories=['a', 'a']).shape[0]\n"
        "print(web, rows, 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[] 2 False"


@pytest.mark.services
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_a_celery_worker_computes_the_list_after_commit(tmp_path):
    """Services mode: the web side only queues the task; a real worker computes the list."""
    from shop.celery import app

    Category.objects.create(name="Kitchen", slug="kitchen")
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "shop", "worker", "--pool", "solo"]
    with open(log, "ab") as out:
        worker = subprocess.Popen(
            [*command, "-l", "info"],
            cwd=ROOT,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app.conf.task_always_eager = False
    try:
        first = new_mug("NEW1", "Enamel coffee mug")
        mug = new_mug("NEW2")
        key = f"item:{mug.pk}:similar"
        assert wait_for(lambda: bool(get_store().get_many([key])), timeout=60), log.read_text()
    finally:
        app.conf.task_always_eager = True
        stop(worker)
    assert "recommendations.refresh_content_neighbours" in log.read_text()
    assert get_store().get_many([key])[key][0][0] == str(first.pk)
    assert similar(mug).items[0].reason.kind is ReasonKind.SIMILAR_CONTENT
