// The dashboards page: make a new dashboard (then edit it), revoke a wall screen's link.
(function () {
  var config = JSON.parse(document.getElementById("dash-list-config").textContent);
  var status = document.getElementById("dash-list-status");
  document.getElementById("dash-new").addEventListener("click", function () {
    GIS.send("POST", config.create, { title: config.labels.words.new_title, panels: [] }).then(function (answer) {
      if (!answer.ok) { status.textContent = answer.data.error.message; return; }
      window.location.href = config.page.replace(/0$/, String(answer.data.id)) + "?edit=1";
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.revoke"), function (button) {
    button.addEventListener("click", function () {
      fetch(button.dataset.url, { method: "DELETE", credentials: "same-origin",
                                  headers: { "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content } })
        .then(function (r) { if (r.ok) { button.closest("tr").remove(); } });
    });
  });
})();
