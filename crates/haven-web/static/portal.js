// The quick exit: the button, or Shift pressed three times, blanks the page at once and
// replaces it (location.replace, so Back does not return) with the neutral site behind /exit.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) {
    return;
  }
  var target = link.getAttribute("href");
  function leave(e) {
    if (e) {
      e.preventDefault();
    }
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(target);
  }
  link.addEventListener("click", leave);
  var count = 0;
  var last = 0;
  document.addEventListener("keyup", function (e) {
    if (e.key !== "Shift") {
      count = 0;
      return;
    }
    var now = Date.now();
    count = now - last < 1000 ? count + 1 : 1;
    last = now;
    if (count >= 3) {
      leave();
    }
  });
})();
