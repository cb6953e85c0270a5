// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Character counters: <textarea data-counter="id"> updates <span id="id">.
  for (const field of document.querySelectorAll("[data-counter]")) {
    const out = document.getElementById(field.dataset.counter);
    if (!out) continue;
    const update = () => { out.textContent = String([...field.value].length); };
    field.addEventListener("input", update);
    update();
  }
  // 回上一頁 links go back in history when there is one.
  for (const link of document.querySelectorAll("[data-back]")) {
    link.addEventListener("click", (event) => {
      if (history.length > 1) { event.preventDefault(); history.back(); }
    });
  }
  // 親等 only matters for 親戚.
  const relationship = document.getElementById("relationship");
  const kinship = document.querySelector(".kinship");
  if (relationship && kinship) {
    const toggle = () => { kinship.hidden = relationship.value !== "relative"; };
    relationship.addEventListener("change", toggle);
    toggle();
  }
});
