from django.urls import path

from . import views

app_name = "catalogue"

urlpatterns = [
    path("products/<int:pk>/", views.product_detail, name="product-detail"),
    path("products/<int:pk>/buy/", views.buy, name="buy"),
]
