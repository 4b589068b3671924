// "Use my current location" buttons: fill the hidden latitude/longitude inputs of their form.
// A separate file because the CSP forbids inline scripts.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.js-geolocate").forEach(function (button) {
    var form = button.form;
    var status = button.parentElement.querySelector(".js-geo-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    button.addEventListener("click", function () {
      if (!("geolocation" in navigator)) { say(button.dataset.msgUnsupported); return; }
      say(button.dataset.msgLocating);
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (position) {
        form.querySelector("[data-geo=latitude]").value = position.coords.latitude.toFixed(6);
        form.querySelector("[data-geo=longitude]").value = position.coords.longitude.toFixed(6);
        button.disabled = false;
        say(button.dataset.msgDone);
      }, function () {
        button.disabled = false;
        say(button.dataset.msgFailed);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  });
});
