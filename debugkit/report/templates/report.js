
(function () {
  "use strict";
  var doc = document;
  function all(selector, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(selector)); }
  function byId(id) { return id ? doc.getElementById(id) : null; }

  /* --- network panel: "failed only" and text filters ---------------------------------- */
  var failedOnly = byId("net-failed-only");
  var textFilter = byId("net-text");
  var counter = byId("net-count");
  var rows = all("#net-table tbody tr");
  var rowText = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function applyFilter() {
    var onlyFailed = failedOnly ? failedOnly.checked : false;
    var needle = textFilter ? textFilter.value.trim().toLowerCase() : "";
    var shown = 0;
    rows.forEach(function (row, i) {
      var hide = (onlyFailed && row.getAttribute("data-failed") !== "1") ||
        (needle !== "" && rowText[i].indexOf(needle) === -1);
      row.hidden = hide;
      if (!hide) { shown += 1; }
    });
    if (counter) { counter.textContent = shown + " of " + rows.length + " requests"; }
  }
  function clearFilters() {
    if (failedOnly) { failedOnly.checked = false; }
    if (textFilter) { textFilter.value = ""; }
    applyFilter();
  }
  if (failedOnly) { failedOnly.addEventListener("change", applyFilter); }
  if (textFilter) { textFilter.addEventListener("input", applyFilter); }
  applyFilter();

  /* --- in-page links: make the target visible (open details, lift filters) ---------------- */
  /* Returns true when something had to change (so the browser could not scroll there itself). */
  function prepare(id) {
    var target = byId(id);
    if (!target) { return false; }
    var changed = false;
    if (target.hidden && target.tagName === "TR") { clearFilters(); changed = true; }
    var details = target.closest ? target.closest("details") : null;
    while (details) {
      if (!details.open) { details.open = true; changed = true; }
      details = details.parentElement ? details.parentElement.closest("details") : null;
    }
    return changed;
  }

  /* Clicking a network row (outside its own links) goes to the action it is attributed to. */
  var table = byId("net-table");
  if (table) {
    table.addEventListener("click", function (event) {
      if (event.target.closest("a")) { return; }
      var row = event.target.closest("tr[data-target]");
      if (row) { go(row.getAttribute("data-target")); }
    });
  }

  function go(id) {
    var target = byId(id);
    if (!target) { return; }
    prepare(id);
    if (location.hash === "#" + id) {
      target.scrollIntoView({ block: "start" });
    } else {
      location.hash = id;
    }
  }

  /* --- screenshots: a lightbox (without JS, :target shows it) ---------------------------- */
  var shotLinks = all("a.shot-link");
  var openBox = null;
  var openIndex = -1;
  var returnFocus = null;

  function openLightbox(id, index) {
    var box = byId(id);
    if (!box) { return; }
    closeLightbox(false);
    var img = box.querySelector("img.from-thumb");
    if (img && !img.getAttribute("src")) {  /* no full-size version: enlarge the thumbnail */
      var thumb = doc.querySelector("a.shot-link[href='#" + id + "'] img");
      if (thumb) { img.src = thumb.src; }
    }
    box.classList.add("open");
    openBox = box;
    openIndex = index;
    var close = box.querySelector(".lb-close");
    if (close) { close.focus({ preventScroll: true }); }
  }
  function closeLightbox(restore) {
    if (!openBox) { return; }
    openBox.classList.remove("open");
    openBox = null;
    if (restore && returnFocus) { returnFocus.focus({ preventScroll: true }); }
  }
  function shotIndex(link) {  /* a crop opens its screenshot: arrows then go on from there */
    var index = shotLinks.indexOf(link);
    if (index !== -1) { return index; }
    var href = link.getAttribute("href");
    for (var i = 0; i < shotLinks.length; i += 1) {
      if (shotLinks[i].getAttribute("href") === href) { return i; }
    }
    return -1;
  }
  function stepLightbox(delta) {
    if (openIndex < 0 || shotLinks.length === 0) { return; }
    var next = (openIndex + delta + shotLinks.length) % shotLinks.length;
    returnFocus = shotLinks[next];
    openLightbox(shotLinks[next].getAttribute("href").slice(1), next);
  }

  doc.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (openBox && (event.target === openBox || (link && link.classList.contains("lb-close")))) {
      event.preventDefault();
      closeLightbox(true);
      return;
    }
    if (!link) { return; }
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    if (link.classList.contains("shot-link") || link.classList.contains("crop-link")) {
      event.preventDefault();
      returnFocus = link;
      openLightbox(id, shotIndex(link));
      return;
    }
    prepare(id);  /* then the browser follows the link and scrolls */
  });

  /* --- element numbers over what the model saw ------------------------------------------- */
  /* The box shows the step's screenshots large with every element's box; CSS (:has) does it alone,
     the class is for browsers without :has. The full-size version is shown where the report has it. */
  var thumbs = new WeakMap();
  function showOverlay(block, on) {
    block.classList.toggle("els-on", on);
    all("img[data-full]", block).forEach(function (img) {
      if (on) {
        var link = img.closest("a.shot-link");
        var box = link ? byId(link.getAttribute("href").slice(1)) : null;
        var full = box ? box.querySelector("img[src]") : null;
        if (full && !thumbs.has(img)) { thumbs.set(img, img.src); img.src = full.getAttribute("src"); }
      } else if (thumbs.has(img)) {
        img.src = thumbs.get(img);
        thumbs.delete(img);
      }
    });
  }
  all("input.els-toggle").forEach(function (input) {
    var block = input.closest(".model-saw");
    if (!block) { return; }
    input.addEventListener("change", function () { showOverlay(block, input.checked); });
    if (input.checked) { showOverlay(block, true); }  /* a reload keeps the box ticked */
  });

  /* --- keyboard: j / k between action cards, f to the failing one ----------------------- */
  var cards = all(".action-card");
  var navHeight = 56;

  function currentCard() {
    var active = doc.activeElement;
    var card = active && active.closest ? active.closest(".action-card") : null;
    return card ? cards.indexOf(card) : -1;
  }
  function focusCard(index) {
    if (index < 0 || index >= cards.length) { return; }
    var card = cards[index];
    cards.forEach(function (c) { c.classList.remove("current"); });
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "start" });
    if (history.replaceState) { history.replaceState(null, "", "#" + card.id); }
  }
  function moveCard(delta) {
    if (cards.length === 0) { return; }
    var index = currentCard();
    if (index !== -1) {
      focusCard(Math.max(0, Math.min(cards.length - 1, index + delta)));
      return;
    }
    var i;
    if (delta > 0) {
      for (i = 0; i < cards.length; i += 1) {
        if (cards[i].getBoundingClientRect().top > navHeight + 4) { focusCard(i); return; }
      }
      focusCard(cards.length - 1);
    } else {
      for (i = cards.length - 1; i >= 0; i -= 1) {
        if (cards[i].getBoundingClientRect().top < navHeight - 4) { focusCard(i); return; }
      }
      focusCard(0);
    }
  }

  doc.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (openBox) {
      if (event.key === "Escape") { event.preventDefault(); closeLightbox(true); }
      else if (event.key === "ArrowRight") { event.preventDefault(); stepLightbox(1); }
      else if (event.key === "ArrowLeft") { event.preventDefault(); stepLightbox(-1); }
      return;
    }
    var tag = event.target && event.target.tagName;
    var toggle = tag === "INPUT" && /^(checkbox|radio|button)$/.test(event.target.type);  /* keys still move */
    if ((tag === "INPUT" && !toggle) || tag === "TEXTAREA" || tag === "SELECT" ||
        (event.target && event.target.isContentEditable)) {
      if (event.key === "Escape" && event.target.blur) { event.target.blur(); }
      return;
    }
    if (event.key === "j") { event.preventDefault(); moveCard(1); }
    else if (event.key === "k") { event.preventDefault(); moveCard(-1); }
    else if (event.key === "f") {
      var decisive = doc.querySelector(".action-card.decisive");
      if (decisive) { event.preventDefault(); focusCard(cards.indexOf(decisive)); }
    }
    else if (event.key === "/" && textFilter) { event.preventDefault(); textFilter.focus(); }
  });

  /* --- arriving with a #fragment, or following one ----------------------------------------- */
  function onHash(initial) {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id || id === "_") { return; }
    if (id.indexOf("lb-") === 0) {
      var link = doc.querySelector("a.shot-link[href='#" + id + "']");
      if (history.replaceState) { history.replaceState(null, "", location.pathname + location.search); }
      openLightbox(id, link ? shotLinks.indexOf(link) : -1);
      return;
    }
    /* A followed link was prepared on click and the browser scrolled; scroll here only when the
       target had to be revealed first, or when the page was opened at a fragment. */
    var target = byId(id);
    if (target && (prepare(id) || initial === true)) { target.scrollIntoView({ block: "start" }); }
  }
  window.addEventListener("hashchange", onHash);
  if (location.hash) { onHash(true); }

  /* --- printing: everything expanded ------------------------------------------------------ */
  var reopened = [];
  window.addEventListener("beforeprint", function () {
    reopened = all("details:not([open])");
    reopened.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (d) { d.open = false; });
    reopened = [];
  });
}());
