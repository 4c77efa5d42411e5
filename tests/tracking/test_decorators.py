"""Explicit view capture for views that TRACKED_VIEWS cannot describe."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.views.generic import DetailView

from recommendations.middleware import TrackingMiddleware
from recommendations.models import Event, EventKind
from recommendations.tracking.decorators import TrackItemViewMixin, tracks_item_view
from shop.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


def through_middleware(view, request, **kwargs):
    request.user = AnonymousUser()
    return TrackingMiddleware(lambda r: view(r, **kwargs))(request)


def test_decorated_function_view_records_the_resolved_item(rf: RequestFactory, products, drain):
    by_sku = {p.sku: p for p in products}

    @tracks_item_view(lambda request, sku: by_sku[sku].pk)
    def product_by_sku(request, sku):
        return HttpResponse("ok")

    assert through_middleware(product_by_sku, rf.get("/p/SKU2/"), sku="SKU2").status_code == 200
    through_middleware(product_by_sku, rf.post("/p/SKU3/"), sku="SKU3")  # not a view of a page
    drain()
    assert list(Event.objects.values_list("kind", "item_id")) == [
        (EventKind.VIEW, str(by_sku["SKU2"].pk))
    ]


def test_mixin_records_the_detail_object(rf: RequestFactory, products, drain):
    class ProductPage(TrackItemViewMixin, DetailView):
        model = Product
        template_name = "shop/product_detail.html"

        def render_to_response(self, context, **kwargs):
            return HttpResponse(self.object.title)

    view = ProductPage.as_view()
    assert through_middleware(view, rf.get("/x/"), pk=products[4].pk).status_code == 200
    drain()
    assert list(Event.objects.values_list("item_id", flat=True)) == [str(products[4].pk)]


def test_a_view_can_leave_one_request_out(client, products, drain):
    client.get(f"/products/{products[0].pk}/")
    visitor = client.cookies["recommendations_visitor"].value
    # The demo's product page calls skip_view_tracking() for ?track=0 (its load-test switch).
    assert client.get(f"/products/{products[1].pk}/?track=0").status_code == 200
    drain()
    assert list(Event.objects.values_list("item_id", flat=True)) == [str(products[0].pk)]
    assert client.cookies["recommendations_visitor"].value == visitor  # the same visitor
