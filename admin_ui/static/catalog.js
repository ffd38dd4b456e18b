/* The SaaS catalog pages (admin_ui/templates/admin/catalog, the app page's setup steps); the pages work
   without it. The picker's search box filters the presets while typing (`?q=` does it without script);
   a copy button copies its value with the clipboard API, or selects the value for Ctrl+C when that API
   is refused (an http:// page, an old browser). */
(function () {
  function normalized(text) {
    return (text || '').normalize('NFKC').trim().toLowerCase();
  }

  var search = document.querySelector('input[data-catalog-search]');
  if (search) {
    var empty = document.querySelector('[data-catalog-empty]');
    var filter = function () {
      var query = normalized(search.value);
      var shown = 0;
      document.querySelectorAll('[data-catalog-category]').forEach(function (category) {
        var inCategory = 0;
        category.querySelectorAll('[data-catalog-item]').forEach(function (item) {
          var match = item.getAttribute('data-catalog-item').indexOf(query) !== -1;
          item.hidden = !match;
          if (match) { inCategory += 1; }
        });
        category.hidden = inCategory === 0;
        shown += inCategory;
      });
      if (empty) { empty.hidden = shown > 0; }
    };
    search.addEventListener('input', filter);
  }

  function select(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var value = button.parentNode.querySelector('.copy-value');
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener('click', function () {
      var done = function () {
        button.textContent = button.getAttribute('data-copied');
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(value.textContent).then(done, function () { select(value); });
      } else {
        select(value);
      }
    });
  });
}());
