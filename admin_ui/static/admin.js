/* Admin console: the select-all checkbox of list tables (pages work without it). */
document.querySelectorAll('input[data-select-all]').forEach(function (box) {
  box.addEventListener('change', function () {
    box.closest('form').querySelectorAll('input[name="ids"]').forEach(function (c) { c.checked = box.checked; });
  });
});
