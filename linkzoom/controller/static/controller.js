// Progressive enhancement only: every action works without this file.
// Adds a "Copy" button next to each read-only URL on the Zoom page.
(function () {
  "use strict";
  if (!navigator.clipboard) { return; }
  document.querySelectorAll(".copy input[readonly]").forEach(function (input) {
    var row = document.createElement("div");
    row.className = "copy-row";
    input.parentNode.insertBefore(row, input);
    row.appendChild(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Copy";
    var label = document.querySelector('label[for="' + input.id + '"]');
    button.setAttribute("aria-label", "Copy " + (label ? label.textContent : "value"));
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    row.appendChild(button);
    row.appendChild(status);
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        status.textContent = "Copied.";
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; status.textContent = ""; }, 2000);
      });
    });
  });
})();
