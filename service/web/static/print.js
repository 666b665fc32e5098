// A "Print" button ([data-print]): hidden until this script can make it work.
// What the printout leaves out (navigation, forms, buttons) is accord.css's `@media print`.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
