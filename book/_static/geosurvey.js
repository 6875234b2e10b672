// A table column that holds words rather than numbers aligns left, as text reads; the
// stylesheet aligns the rest right, so that digits line up.
document.addEventListener("DOMContentLoaded", () => {
  const words = /[A-Za-z]{3,}/;
  for (const table of document.querySelectorAll(".bd-article table.dataframe")) {
    const rows = [...table.querySelectorAll("tbody tr")];
    const textual = new Set();
    for (const row of rows) {
      [...row.children].forEach((cell, i) => {
        if (cell.tagName === "TD" && words.test(cell.textContent)) textual.add(i);
      });
    }
    for (const row of table.querySelectorAll("tr")) {
      [...row.children].forEach((cell, i) => {
        if (textual.has(i)) cell.classList.add("text");
      });
    }
  }
});
