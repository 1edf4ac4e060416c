// The projects list: planners create a project, then land on its page to fill it in.
(function () {
  var cfg = JSON.parse(document.getElementById("projects-config").textContent);
  var form = document.getElementById("new-project");
  if (!form) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("new-project-error");
    var token = document.querySelector("meta[name=csrf-token]").content;
    fetch(cfg.api, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ code: form.elements.code.value, name: form.elements.name.value })
    }).then(function (r) {
      return r.json().then(function (data) {
        if (r.ok) { window.location = cfg.page.replace("CODE", encodeURIComponent(data.code)); }
        else { error.textContent = data.error ? data.error.message : "HTTP " + r.status; }
      });
    });
  });
})();
