() => {
  // Every visible text, placeholder and button whose contrast with what is behind it is under
  // 4.5:1 (WCAG AA), as 'ratio element "text"' lines; computed styles, so the page's own CSS counts.
  const channel = (value) => { value /= 255; return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4; };
  const parse = (colour) => (colour.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const [r, g, b, a] = parse(getComputedStyle(node).backgroundColor);
      if (a === undefined || a > 0.5) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const element of document.querySelectorAll("body *")) {
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    if (style.visibility === "hidden" || style.display === "none" || box.width === 0 || box.height === 0) continue;
    const ownText = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const placeholder = (element.tagName === "TEXTAREA" || element.tagName === "INPUT") && element.placeholder && !element.value;
    if (!ownText && element.tagName !== "BUTTON" && !placeholder) continue;
    const colour = placeholder ? getComputedStyle(element, "::placeholder").color : style.color;
    const [fr, fg, fb, fa] = parse(colour);
    const back = background(element);
    const alpha = fa === undefined ? 1 : fa;
    const front = [fr, fg, fb].map((value, i) => value * alpha + back[i] * (1 - alpha));
    const [light, dark] = [luminance(front), luminance(back)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (dark + 0.05);
    if (ratio < 4.5) failures.push(`${ratio.toFixed(2)} ${element.tagName}#${element.id}.${element.className} "${(element.innerText || element.placeholder || "").trim().slice(0, 40)}"`);
  }
  return failures;
}
