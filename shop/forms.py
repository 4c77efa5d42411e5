"""Forms of the storefront: cart quantities, checkout and sign-up."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.utils import timezone

from .cart import MAX_QUANTITY
from .payments import normalise_card_number


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)


class CartUpdateForm(forms.Form):
    """Zero is allowed here: setting a line to 0 removes it."""

    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)


_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2})\s*$")


class CheckoutForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    shipping_address = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"autocomplete": "street-address", "rows": 3}),
    )
    name = forms.CharField(
        label="Name on card",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "cc-name"}),
    )
    card_number = forms.CharField(
        max_length=23,
        help_text="Demo store: any number works; one ending in 0002 is declined.",
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    expiry = forms.CharField(
        label="Expiry (MM/YY)",
        max_length=7,
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}),
    )
    cvc = forms.CharField(
        label="CVC",
        max_length=4,
        widget=forms.TextInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def clean_card_number(self) -> str:
        number = normalise_card_number(self.cleaned_data["card_number"])
        if not number.isdigit() or not 12 <= len(number) <= 19:
            raise forms.ValidationError("Enter a card number of 12 to 19 digits.")
        return number

    def clean_expiry(self) -> str:
        match = _EXPIRY.match(self.cleaned_data["expiry"])
        if not match or not 1 <= int(match[1]) <= 12:
            raise forms.ValidationError("Enter the expiry date as MM/YY.")
        month, year = int(match[1]), 2000 + int(match[2])
        today = timezone.now().date()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError("This card has expired.")
        return f"{month:02d}/{year % 100:02d}"

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit() or len(cvc) not in (3, 4):
            raise forms.ValidationError("Enter the 3 or 4 digits on the back of the card.")
        return cvc


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional; used to fill in checkout for you."
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
