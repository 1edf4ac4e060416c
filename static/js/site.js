// Every page: on a phone the page links fold behind a menu button, so that none is hidden off screen and the
// map keeps its height. Without this script the links simply wrap onto a second row.
(function () {
  var bar = document.getElementById("topbar");
  var button = bar && bar.querySelector(".menu-toggle");
  if (!button) { return; }
  bar.classList.add("js-menu");
  button.hidden = false;
  function close() {
    bar.classList.remove("menu-open");
    button.setAttribute("aria-expanded", "false");
  }
  button.addEventListener("click", function () {
    var open = bar.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") { close(); } });
  document.addEventListener("click", function (e) { if (!bar.contains(e.target)) { close(); } });
})();
