// What a reader of one rendered page would see wrong, at the window size the check sets.
// Called as (this function)(citationKeys); resolves to {findings, counts, column, height}.
// Each finding is {kind, where, message}; `where` names the element and the section it is in.
async (keys) => {
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  const article = document.querySelector("article.bd-article") || document.body;
  const maths = [...article.querySelectorAll(".math")];
  if (maths.length) {
    for (let i = 0; i < 150 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
      await sleep(100);
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await Promise.race([MathJax.startup.promise, sleep(20000)]);
    }
  }
  await document.fonts.ready;
  const pending = [...document.images].filter((img) => !img.complete);
  await Promise.race([
    Promise.all(pending.map((img) => new Promise((done) => { img.onload = img.onerror = done; }))),
    sleep(10000),
  ]);

  const style = getComputedStyle(article);
  const box = article.getBoundingClientRect();
  const left = box.left + parseFloat(style.paddingLeft);
  const width = article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const findings = [];
  const snippet = (text) => {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > 70 ? line.slice(0, 67) + "..." : line;
  };
  const section = (el) => {
    const s = el.closest("section");
    const h = s && s.querySelector("h1, h2, h3, h4, h5, h6");
    return h ? h.textContent.replace(/#$/, "").trim() : "top of the page";
  };
  const numbered = (selector) => {
    const all = [...article.querySelectorAll(selector)];
    return (el, name) => `${name} ${all.indexOf(el) + 1} in "${section(el)}"`;
  };
  const add = (kind, where, message) => findings.push({ kind, where, message });
  // The room an element has: the column, or the wider box of a cell tagged full-width.
  const room = (el) => {
    const wide = el.closest(".tag_full-width, .full-width");
    return wide ? wide.getBoundingClientRect() : { left, width };
  };
  const tooWide = (el) => {
    const r = el.getBoundingClientRect();
    const box = room(el);
    return Math.max(r.width, el.scrollWidth) > box.width + 1 || r.left < box.left - 1;
  };
  const exceeds = (el, size) => `${Math.round(size)} px wide; it has ${Math.round(room(el).width)} px`;

  // Equations: typeset by MathJax, and no TeX left as text.
  const eq = numbered(".math");
  let typeset = 0;
  for (const el of maths) {
    if (el.querySelector("mjx-container")) typeset++;
    else add("math", eq(el, "equation"), `not typeset: ${snippet(el.textContent)}`);
  }
  const texts = []; // the page's prose: text outside code and typeset math
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest("pre, code, script, style, .math, mjx-container")) texts.push(node);
  }
  const rawTex = /\\\(|\\\[|\$\$|\$[^$\s][^$]*\\[A-Za-z]+[^$]*\$/;
  for (const node of texts) {
    if (rawTex.test(node.textContent)) {
      add("math", `text in "${section(node.parentElement)}"`, `raw TeX: ${snippet(node.textContent)}`);
    }
  }

  // Images: loaded, and shown at their own size inside the column.
  const img = numbered("img");
  const images = [...document.images];
  for (const el of images) {
    const where = article.contains(el) ? img(el, "image") : `image ${el.getAttribute("src")}`;
    if (el.naturalWidth === 0) {
      add("image", where, `did not load: ${el.getAttribute("src")}`);
    } else if (article.contains(el)) {
      const shown = el.getBoundingClientRect().width;
      if (tooWide(el)) add("width", where, exceeds(el, shown));
      else if (el.naturalWidth > shown + 1 && !el.hasAttribute("width")) {
        add("width", where, `${el.naturalWidth} px wide, shown at ${Math.round(shown)} px ` +
          `(scaled to ${Math.round((100 * shown) / el.naturalWidth)} %: text in it shrinks alike)`);
      }
    }
  }

  // Tables and code blocks: as wide as the column at most, even inside a scrolling wrapper.
  const tab = numbered("table");
  const tables = [...article.querySelectorAll("table")];
  const nan = /(^|[^A-Za-z])nan([^A-Za-z]|$)/i;
  const decimals = /(?<![\d.])\d+\.\d{3,}(?![\d.])/g;
  // a p-value keeps two significant digits (0.058): in a column headed "p", or after "p"
  const pColumn = /(^|\s)p$/i;
  const afterP = /\bp\s*(=|up to)?\s*$/i;
  const tooPrecise = (t, header) =>
    !pColumn.test(header) && [...t.matchAll(decimals)].some((m) => !afterP.test(t.slice(0, m.index)));
  for (const el of tables) {
    const where = tab(el, "table");
    if (tooWide(el)) {
      add("width", where, exceeds(el, Math.max(el.getBoundingClientRect().width, el.scrollWidth)));
    }
    const headRows = [...el.querySelectorAll("thead tr")].map((r) =>
      [...r.querySelectorAll("th")].map((c) => c.textContent.trim())
    );
    const width = Math.max(0, ...headRows.map((r) => r.length));
    const headers = [...Array(width).keys()].map((i) =>
      headRows.map((r) => (r.length === width ? r[i] : "")).join(" ").trim()
    );
    const rows = [...el.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll("td, th")]);
    const cells = rows.flat().map((c) => c.textContent.trim());
    const nans = cells.filter((t) => nan.test(t));
    const long = rows.flatMap((r) =>
      r.map((c, i) => [c.textContent.trim(), r.length === headers.length ? headers[i] : ""])
    ).filter(([t, header]) => tooPrecise(t, header)).map(([t]) => t);
    if (nans.length) add("number", where, `${nans.length} cell(s) show NaN, e.g. "${snippet(nans[0])}"`);
    if (long.length) {
      add("number", where, `${long.length} cell(s) show more than 2 decimals, e.g. "${snippet(long[0])}"`);
    }
  }
  const pre = numbered("pre");
  const blocks = [...article.querySelectorAll("pre")];
  for (const el of blocks) {
    if (tooWide(el)) {
      const longest = el.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a), "");
      const name = el.closest(".cell_output") ? "printed output" : "code block";
      add("width", pre(el, name), `${exceeds(el, el.scrollWidth)} (longest line: ${longest.length} ` +
        `characters, ${snippet(longest)})`);
    }
  }
  for (const el of article.querySelectorAll("figure")) {
    if (tooWide(el)) add("width", `figure in "${section(el)}"`, exceeds(el, el.getBoundingClientRect().width));
  }

  // Figures: every plot of a cell numbered and captioned, every figure reference resolved.
  for (const el of article.querySelectorAll(".cell_output img")) {
    const fig = el.closest("figure");
    const caption = fig && fig.querySelector("figcaption");
    if (!caption || !caption.querySelector(".caption-number")) {
      add("figure", img(el, "image"), "a figure without a number and a caption");
    }
  }
  for (const el of article.querySelectorAll(".std-numref, .std-ref")) {
    if (!el.closest("a")) add("figure", `reference in "${section(el)}"`, `resolves to nothing: ${snippet(el.textContent)}`);
  }

  // Outputs: no traceback, warning, stderr or bare Python repr.
  const out = numbered(".cell_output");
  for (const el of article.querySelectorAll(".cell_output")) {
    const text = el.textContent;
    const stderr = el.querySelector(".output.stderr, .output.traceback, .output.error");
    if (stderr || /Traceback \(most recent call last\)|\bWarning:|^\w*(Error|Exception): /m.test(text)) {
      const line = (stderr ? stderr.textContent : text).split("\n").find((l) => l.trim()) || "";
      add("output", out(el, "output"), `${stderr ? "stderr or error output" : "warning or traceback"}: ` +
        snippet(line));
    } else if (/^\[?<([\w.]+ object at 0x[0-9a-f]+|Axes[:>]|matplotlib\.)/m.test(text.trim())) {
      add("output", out(el, "output"), `a Python repr: ${snippet(text.trim().split("\n")[0])}`);
    }
  }

  // Glue and citations: resolved, not left as roles, warnings or bare keys.
  for (const el of article.querySelectorAll(".problematic, .system-message")) {
    const kind = /glue/i.test(el.textContent) ? "glue" : "build";
    add(kind, `${el.className.split(" ")[0]} in "${section(el)}"`, snippet(el.textContent));
  }
  for (const el of article.querySelectorAll(".bibtex-citation")) {
    if (!el.querySelector("a")) {
      add("citation", `citation in "${section(el)}"`, `links to no reference: "${snippet(el.textContent)}"`);
    }
  }
  const escaped = keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const keyPattern = keys.length ? new RegExp(`\\b(${escaped.join("|")})\\b`) : null;
  for (const node of texts) {
    const t = node.textContent;
    const where = `text in "${section(node.parentElement)}"`;
    if (/\{glue[:}]/.test(t)) add("glue", where, `unresolved glue: ${snippet(t)}`);
    if (/\{cite(:[a-z]+)?\}/.test(t)) add("citation", where, `unresolved citation role: ${snippet(t)}`);
    if (/\{(numref|ref|doc|eq|term)\}/.test(t)) add("reference", where, `role shown as text: ${snippet(t)}`);
    const key = keyPattern && !node.parentElement.closest("a") && t.match(keyPattern);
    if (key) add("citation", where, `citation key ${key[1]} shown as text, not as a reference`);
  }

  return {
    findings,
    column: Math.round(width),
    height: Math.ceil(document.documentElement.scrollHeight),
    counts: {
      equations: maths.length,
      typeset,
      tables: tables.length,
      images: images.filter((el) => article.contains(el)).length,
      code: blocks.length,
    },
  };
}
