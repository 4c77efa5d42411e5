"""Factories for the store's models."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import User
from django.utils.text import slugify

from shop.models import Category, Order, OrderLine, Product

PASSWORD = "a-long-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"shopper{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.LazyAttribute(lambda c: slugify(c.name))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = factory.Sequence(lambda n: f"Enamel Teapot No. {n}")
    slug = factory.LazyAttribute(lambda p: slugify(p.title))
    description = factory.LazyAttribute(lambda p: f"{p.title}, made to last.")
    category = factory.SubFactory(CategoryFactory)
    brand = "Hearth & Co"
    price = Decimal("12.50")
    stock = 10
    active = True


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T{n:06d}")
    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email if o.user else "guest@example.com")
    status = Order.Status.PAID
    total = Decimal("12.50")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda line: line.product.price)
