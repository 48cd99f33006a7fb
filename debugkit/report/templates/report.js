
(function () {
  "use strict";
  var doc = document;
  function all(selector, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(selector)); }
  function byId(id) { return id ? doc.getElementById(id) : null; }

  /* --- network panel: every request, from the compressed block, in a virtualised table ------- */
  /* The rows are a gzip-compressed JSON document (base64) in #net-data; only the rows in view are in the
     page. Filters ("failed only", text) choose which rows the table scrolls through. Every string is set
     as textContent: the document holds page text. */
  var failedOnly = byId("net-failed-only");
  var textFilter = byId("net-text");
  var counter = byId("net-count");
  var ROW_HEIGHT = 24;
  var OVERSCAN = 12;
  var PRINT_ALL = 2000;  /* up to this many requests print in full; above, the failed and cited ones */
  var F_FAILED = 1, F_NOISE = 2, F_DOCUMENT = 8, F_EVIDENCE = 16;
  var net = {
    view: byId("net-view"), rows: byId("net-rows"), status: byId("net-status"), block: byId("net-data"),
    doc: null, shown: [], position: {}, search: null, waiting: [], drawn: -1, frame: 0, current: -1
  };

  function pad(n, width) { var s = String(n); while (s.length < width) { s = "0" + s; } return s; }
  function when(ms) {
    if (ms === null || ms === undefined) { return null; }
    var d = new Date(ms);
    var clock = pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" + pad(d.getUTCSeconds(), 2) +
      "." + pad(d.getUTCMilliseconds(), 3);
    var rel = "";
    if (net.doc.origin !== null) {
      var seconds = Math.round((ms - net.doc.origin) / 100) / 10;
      rel = (seconds < 0 ? "-" : "+") + Math.abs(seconds).toFixed(1) + " s";
    }
    return { iso: d.toISOString().replace("Z", "+00:00"), clock: clock, rel: rel };
  }
  function el(tag, cls, text) {
    var node = doc.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function targetOf(row) { return row[7] >= 0 ? net.doc.targets[row[7]] : null; }
  function rowText(row) {
    var target = targetOf(row);
    var t = when(row[6]);
    return [row[0], net.doc.methods[row[1]], row[2], row[3], row[4] & F_NOISE ? "(noise)" : "",
      row[4] & F_DOCUMENT ? "page" : "", row[5], t ? t.clock + " " + t.rel : "",
      target ? target[1] : "outside any step"].join(" ").toLowerCase();
  }
  /* One request as a row of cells (the interactive table and the printed one share it). */
  function makeRow(row, tag, cellTag) {
    var flags = row[4];
    var node = el(tag, "net-row " + (flags & F_FAILED ? "failed" : "ok") + (flags & F_NOISE ? " noise" : "") +
      (flags & F_EVIDENCE ? " cited" : ""));
    node.setAttribute("data-index", row[0]);
    node.setAttribute("data-failed", flags & F_FAILED ? "1" : "0");
    var target = targetOf(row);
    if (target) { node.setAttribute("data-target", target[0]); }
    function cell(cls) { var c = el(cellTag, cls); node.appendChild(c); return c; }
    cell("num").textContent = row[0];
    cell("").textContent = net.doc.methods[row[1]];
    var url = cell("url-cell");
    if (flags & F_FAILED) { var mark = el("span", "mark", "✗"); mark.setAttribute("aria-label", "failed"); url.appendChild(mark); url.appendChild(doc.createTextNode(" ")); }
    url.appendChild(el("span", "url-text", row[2]));
    if (flags & F_DOCUMENT) { url.appendChild(doc.createTextNode(" ")); url.appendChild(el("span", "badge muted", "page")); }
    url.title = row[2];
    var outcome = cell("outcome");
    outcome.textContent = row[3];
    if (flags & F_NOISE) { outcome.appendChild(doc.createTextNode(" ")); outcome.appendChild(el("span", "muted", "(noise)")); }
    cell("num").textContent = row[5];
    var started = cell("");
    var t = when(row[6]);
    if (t) {
      var time = el("time", "", t.clock);
      time.setAttribute("datetime", t.iso);
      time.title = t.iso;
      if (t.rel) { time.appendChild(doc.createTextNode(" ")); time.appendChild(el("span", "rel", "(" + t.rel + ")")); }
      started.appendChild(time);
    }
    var action = cell("target");
    if (target) {
      var link = el("a", "", target[1]);
      link.setAttribute("href", "#" + target[0]);
      action.appendChild(link);
    } else {
      action.appendChild(el("span", "muted", "outside any step"));
    }
    return node;
  }

  function draw(force) {
    net.frame = 0;
    if (!net.doc || !net.view) { return; }
    var first = Math.max(0, Math.floor(net.view.scrollTop / ROW_HEIGHT) - OVERSCAN);
    if (first === net.drawn && !force) { return; }
    net.drawn = first;
    var last = Math.min(net.shown.length, first + Math.ceil(net.view.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN);
    var fragment = doc.createDocumentFragment();
    for (var i = first; i < last; i += 1) {
      var row = net.doc.rows[net.shown[i]];
      var node = makeRow(row, "div", "span");
      node.setAttribute("role", "row");
      node.setAttribute("aria-rowindex", i + 2);
      node.id = "har-" + row[0];
      node.style.top = (i * ROW_HEIGHT) + "px";
      if (net.shown[i] === net.current) { node.classList.add("current"); }
      fragment.appendChild(node);
    }
    net.rows.textContent = "";
    net.rows.appendChild(fragment);
  }
  function schedule() { if (!net.frame) { net.frame = window.requestAnimationFrame(function () { draw(false); }); } }

  function applyFilter() {
    if (!net.doc) { return; }
    var onlyFailed = failedOnly ? failedOnly.checked : false;
    var needle = textFilter ? textFilter.value.trim().toLowerCase() : "";
    if (needle !== "" && !net.search) { net.search = net.doc.rows.map(rowText); }
    var rows = net.doc.rows;
    net.shown = [];
    net.position = {};
    for (var i = 0; i < rows.length; i += 1) {
      if (onlyFailed && !(rows[i][4] & F_FAILED)) { continue; }
      if (needle !== "" && net.search[i].indexOf(needle) === -1) { continue; }
      net.position[rows[i][0]] = net.shown.length;
      net.shown.push(i);
    }
    net.rows.style.height = (net.shown.length * ROW_HEIGHT) + "px";
    if (counter) { counter.textContent = net.shown.length + " of " + rows.length + " requests"; }
    draw(true);
  }
  function clearFilters() {
    if (failedOnly) { failedOnly.checked = false; }
    if (textFilter) { textFilter.value = ""; }
    applyFilter();
  }
  /* Bring request <index> into the table (lifting the filters if they hide it); its row, or null. */
  function revealRequest(index) {
    if (!net.doc) { return null; }
    var position = net.position[index];
    if (position === undefined) {
      clearFilters();
      position = net.position[index];
      if (position === undefined) { return null; }
    }
    net.current = net.shown[position];
    net.view.scrollTop = Math.max(0, position * ROW_HEIGHT - (net.view.clientHeight - ROW_HEIGHT) / 2);
    draw(true);
    return byId("har-" + index);
  }
  function requestIndex(id) { var m = /^har-(\d+)$/.exec(id || ""); return m ? Number(m[1]) : null; }

  function decode(text) {
    var binary = atob(text.replace(/\s+/g, ""));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(function (json) { return JSON.parse(json); });
  }
  function netReady(document_) {
    net.doc = document_;
    if (net.status) { net.status.hidden = true; }
    applyFilter();
    if (window.performance && performance.mark) { performance.mark("debugkit-network-ready"); }
    var waiting = net.waiting;
    net.waiting = [];
    waiting.forEach(function (fn) { fn(); });
  }
  if (net.block && net.view && net.rows) {
    if (typeof DecompressionStream === "undefined") {
      if (net.status) { net.status.textContent = "This browser cannot open the network data (it has no DecompressionStream); each action card lists its own requests."; }
    } else {
      decode(net.block.textContent).then(netReady, function (error) {
        if (net.status) { net.status.textContent = "The network data could not be read: " + error; }
      });
    }
    net.view.addEventListener("scroll", schedule, { passive: true });
    window.addEventListener("resize", function () { draw(true); });
  }
  if (failedOnly) { failedOnly.addEventListener("change", applyFilter); }
  if (textFilter) { textFilter.addEventListener("input", applyFilter); }

  /* --- in-page links: make the target visible (open details, lift filters) ---------------- */
  /* Returns true when something had to change (so the browser could not scroll there itself). */
  function prepare(id) {
    var index = requestIndex(id);
    if (index !== null) { return revealRequest(index) !== null; }  /* drawn where it is: the caller scrolls */
    var target = byId(id);
    if (!target) { return false; }
    var changed = false;
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
      var row = event.target.closest(".net-row[data-target]");
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
    if (requestIndex(id) !== null && !net.doc) {  /* a request: its row exists once the data is read */
      if (net.block) { net.waiting.push(function () { onHash(true); }); }
      return;
    }
    /* A followed link was prepared on click and the browser scrolled; scroll here only when the
       target had to be revealed first, or when the page was opened at a fragment. */
    var revealed = prepare(id);
    var target = byId(id);
    if (target && (revealed || initial === true)) { target.scrollIntoView({ block: "start" }); }
  }
  window.addEventListener("hashchange", onHash);
  if (location.hash) { onHash(true); }

  /* --- printing: everything expanded ------------------------------------------------------ */
  /* The network table prints as a plain table, whatever the filters: every request when there are at
     most PRINT_ALL, else the failed ones and those the verdict cites (tens of thousands of rows would
     be hundreds of pages), with a line saying how many were left out. */
  var reopened = [];
  var printed = null;
  function printTable() {
    if (!net.doc || !table) { return null; }
    var rows = net.doc.rows;
    var everything = rows.length <= PRINT_ALL;
    var wrap = el("div", "net-print");
    wrap.id = "net-print";
    var grid = el("table", "net");
    var head = el("tr");
    ["#", "method", "URL", "status / failure", "duration", "started", "action"].forEach(function (name) {
      head.appendChild(el("th", "", name));
    });
    grid.appendChild(el("thead")).appendChild(head);
    var body = el("tbody");
    var kept = 0;
    for (var i = 0; i < rows.length; i += 1) {
      if (everything || rows[i][4] & (F_FAILED | F_EVIDENCE)) { body.appendChild(makeRow(rows[i], "tr", "td")); kept += 1; }
    }
    grid.appendChild(body);
    if (!everything) {
      wrap.appendChild(el("p", "muted", "Printed: the " + kept + " failed or cited request(s) of " + rows.length +
        "; the other " + (rows.length - kept) + " are in the report's network table."));
    }
    wrap.appendChild(grid);
    table.parentNode.insertBefore(wrap, table.nextSibling);
    return wrap;
  }
  window.addEventListener("beforeprint", function () {
    reopened = all("details:not([open])");
    reopened.forEach(function (d) { d.open = true; });
    if (!printed) { printed = printTable(); }
  });
  window.addEventListener("afterprint", function () {
    reopened.forEach(function (d) { d.open = false; });
    reopened = [];
    if (printed) { printed.remove(); printed = null; }
  });
}());
