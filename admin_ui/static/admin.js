/* Admin console: select-all checkboxes (pages work without it). `data-select-all` ticks every
   checkbox named `ids` of its form; `data-select-all="apps"` those named `apps`. */
document.querySelectorAll('input[data-select-all]').forEach(function (box) {
  var name = box.getAttribute('data-select-all') || 'ids';
  box.addEventListener('change', function () {
    box.closest('form').querySelectorAll('input[name="' + name + '"]').forEach(function (c) { c.checked = box.checked; });
  });
});
