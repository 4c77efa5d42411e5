// Sort menus submit themselves; without JavaScript a "Sort" button appears instead.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
