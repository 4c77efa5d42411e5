"""Storefront pages. Thin: the cart, checkout and catalogue queries live in their own modules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from recommendations.tracking.api import skip_view_tracking

from . import catalog_queries as queries
from .cart import Cart, CartError, lines_total
from .checkout import CheckoutError, place_order
from .forms import CartUpdateForm, CheckoutForm, QuantityForm, SignUpForm
from .models import Category, Order, Product

PRODUCTS_PER_PAGE = 24
ORDERS_PER_PAGE = 20
RECENT_ORDERS_SESSION_KEY = "shop_recent_orders"


def _page(request: HttpRequest, object_list: QuerySet, per_page: int) -> Page:
    return Paginator(object_list, per_page).get_page(request.GET.get("page"))


def _next_or(request: HttpRequest, fallback: str) -> str:
    """Where to go after a cart action: back to the page it came from if that page is ours."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def home(request: HttpRequest) -> HttpResponse:
    """The recommendation slots leave out what the page's grids show; the grids themselves must
    not repeat each other either, so new arrivals skip the bestsellers."""
    bestsellers = queries.bestsellers()
    return render(
        request,
        "shop/home.html",
        {
            "category_tiles": queries.categories_with_counts(),
            "bestsellers": bestsellers,
            "new_arrivals": queries.new_arrivals(exclude=[p.pk for p in bestsellers]),
        },
    )


def category(request: HttpRequest, slug: str) -> HttpResponse:
    current = get_object_or_404(Category, slug=slug)
    sort = request.GET.get("sort", "title")
    products = queries.sorted_products(queries.visible_products().filter(category=current), sort)
    return render(
        request,
        "shop/category.html",
        {
            "category": current,
            "page_obj": _page(request, products, PRODUCTS_PER_PAGE),
            "sort": sort if sort in queries.SORTS else "title",
            "sorts": {key: label for key, (label, _) in queries.SORTS.items()},
        },
    )


def search(request: HttpRequest) -> HttpResponse:
    """Control characters are dropped from the query: PostgreSQL refuses NUL in any string."""
    raw = request.GET.get("q", "")[:200]
    query = "".join(ch if ch.isprintable() else " " for ch in raw).strip()[:100]
    page_obj = None
    if query:
        page_obj = _page(
            request, queries.search_products(query).order_by("title", "pk"), PRODUCTS_PER_PAGE
        )
    return render(request, "shop/search.html", {"query": query, "page_obj": page_obj})


#: ``?blocks=3`` and ``?blocks=0``: the product page with three recommendation blocks or none,
#: for ``bench/page_slots.py``, which compares the two. The same view (and so the same tracking
#: of the product view); without the parameter, the store's own page.
_BENCH_TEMPLATES = {
    "3": "shop/bench/product_slots.html",
    "0": "shop/bench/product_plain.html",
}


def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(queries.visible_products(), pk=pk)
    if request.GET.get("track") == "0":
        # For bench/tracking_overhead.py: the same page for the same visitor, no view recorded.
        skip_view_tracking(request)
    return render(
        request,
        _BENCH_TEMPLATES.get(request.GET.get("blocks", ""), "shop/product_detail.html"),
        {
            "product": product,
            "form": QuantityForm(),
            "in_cart": Cart(request).quantity_of(product),
        },
    )


def cart_detail(request: HttpRequest) -> HttpResponse:
    cart = Cart(request)
    lines = cart.lines()
    return render(
        request,
        "shop/cart.html",
        {"lines": lines, "cart_total": lines_total(lines)},
    )


@require_POST
def cart_add(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(queries.visible_products(), pk=pk)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 1 and 99.")
        return redirect(product)
    try:
        Cart(request).add(product, form.cleaned_data["quantity"])
    except CartError as error:
        messages.error(request, str(error))
        return redirect(_next_or(request, product.get_absolute_url()))
    messages.success(request, f"Added {product.title} to your cart.")
    return redirect(_next_or(request, reverse("shop:cart")))


@require_POST
def cart_update(request: HttpRequest, pk: int) -> HttpResponse:
    product = get_object_or_404(queries.visible_products(), pk=pk)
    form = CartUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 0 and 99.")
    else:
        try:
            Cart(request).update(product, form.cleaned_data["quantity"])
        except CartError as error:
            messages.error(request, str(error))
    return redirect("shop:cart")


@require_POST
def cart_remove(request: HttpRequest, pk: int) -> HttpResponse:
    cart = Cart(request)
    # Hidden or deleted products can still sit in a session; removing them must always work.
    product = get_object_or_404(Product, pk=pk)
    cart.remove(product)
    messages.info(request, f"Removed {product.title} from your cart.")
    return redirect("shop:cart")


def checkout(request: HttpRequest) -> HttpResponse:
    cart = Cart(request)
    lines = cart.lines()
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("shop:cart")
    initial = {"email": request.user.email} if request.user.is_authenticated else {}
    form = CheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = place_order(
                request,
                cart,
                email=form.cleaned_data["email"],
                shipping_address=form.cleaned_data["shipping_address"],
                card_number=form.cleaned_data["card_number"],
            )
        except CheckoutError as error:
            form.add_error(None, str(error))
        else:
            recent = request.session.get(RECENT_ORDERS_SESSION_KEY, [])
            request.session[RECENT_ORDERS_SESSION_KEY] = [*recent[-9:], order.number]
            return redirect("shop:order_complete", number=order.number)
    return render(
        request,
        "shop/checkout.html",
        {"form": form, "lines": lines, "cart_total": lines_total(lines)},
    )


def order_complete(request: HttpRequest, number: str) -> HttpResponse:
    """Shown to whoever placed the order: its owner, or the guest session that paid for it."""
    order = get_object_or_404(Order.objects.prefetch_related("lines__product"), number=number)
    placed_here = number in request.session.get(RECENT_ORDERS_SESSION_KEY, [])
    owner = request.user.is_authenticated and order.user_id == request.user.pk
    if not (placed_here or owner):
        raise Http404("No such order.")
    return render(request, "shop/order_complete.html", {"order": order})


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    orders = Order.objects.filter(user=request.user).prefetch_related("lines")
    return render(
        request, "shop/order_list.html", {"page_obj": _page(request, orders, ORDERS_PER_PAGE)}
    )


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    order = get_object_or_404(
        Order.objects.prefetch_related("lines__product__category"), number=number, user=request.user
    )
    return render(request, "shop/order_detail.html", {"order": order})


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("shop:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        return redirect("shop:home")
    return render(request, "registration/signup.html", {"form": form})
