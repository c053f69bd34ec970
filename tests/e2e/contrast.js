() => {
  // WCAG 2.1 contrast of the page's visible text (1.4.3) and field borders (1.4.11), run by
  // test_access.py through page.evaluate: what falls short.
  const rgb = (c) => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : null; };
  const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden"; };
  const bad = [];
  for (const el of document.querySelectorAll("input, select, textarea, button.ghost, .seg")) {
    if (!visible(el) || el.type === "checkbox" || el.type === "file") continue;
    const s = getComputedStyle(el);
    if (parseFloat(s.borderTopWidth) === 0) continue;
    const around = bg(el.parentElement);
    const r = ratio(rgb(s.borderTopColor).slice(0, 3), around);
    if (r < 3) bad.push(`border of ${el.tagName}.${el.className} ${r.toFixed(2)}:1`);
  }
  for (const el of document.querySelectorAll("body *")) {
    if (!visible(el) || el.closest("svg, .uplot canvas")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const r = ratio(rgb(s.color).slice(0, 3), bg(el));
    if (r < (large ? 3 : 4.5)) bad.push(`text "${el.textContent.trim().slice(0, 30)}" ${r.toFixed(2)}:1`);
  }
  return bad;
}
