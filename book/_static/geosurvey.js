// A table column that holds words or marks rather than numbers aligns left, as text
// reads; the stylesheet aligns the rest right, so that digits line up. A cell counts as
// a number when it has a digit and no word, or is empty or a dash (a missing value).
document.addEventListener("DOMContentLoaded", () => {
  const numeric = (text) => {
    const t = text.trim();
    return t === "" || t === "\u2013" || (/\d/.test(t) && !/[A-Za-z]{3,}/.test(t));
  };
  for (const table of document.querySelectorAll(".bd-article table.dataframe")) {
    const textual = new Set();
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (cell.tagName === "TD" && !numeric(cell.textContent)) textual.add(i);
      });
    }
    for (const row of table.querySelectorAll("tr")) {
      [...row.children].forEach((cell, i) => {
        if (textual.has(i)) cell.classList.add("text");
      });
    }
  }
});
