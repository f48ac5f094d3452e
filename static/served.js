// Shows, under the page, how this server answered it: asks for the page again with HEAD
// and lists the response fields that tell the story (the server, its date, the validators,
// and whether the bytes came compressed). Everything here is plain DOM and fetch().
(function () {
  "use strict";

  // The fields worth showing, in the order a reader would look at them.
  var FIELDS = [
    "server",
    "date",
    "content-type",
    "content-encoding",
    "content-length",
    "etag",
    "last-modified",
    "vary",
    "cache-control"
  ];

  function row(list, name, value) {
    var item = document.createElement("li");
    var label = document.createElement("code");
    label.textContent = name + ": ";
    item.appendChild(label);
    item.appendChild(document.createTextNode(value));
    list.appendChild(item);
  }

  function show(response) {
    var target = document.getElementById("served-with");
    if (!target) {
      return;
    }
    var list = document.createElement("ul");
    FIELDS.forEach(function (name) {
      var value = response.headers.get(name);
      if (value !== null) {
        row(list, name, value);
      }
    });
    target.textContent = "This page was served with " + response.status + " and:";
    target.appendChild(list);
  }

  // HEAD gets the same head as GET (RFC 9110 section 9.3.2), without the body.
  fetch(window.location.href, { method: "HEAD", cache: "no-store" })
    .then(show)
    .catch(function (error) {
      var target = document.getElementById("served-with");
      if (target) {
        target.textContent = "Could not ask the server again: " + error;
      }
    });
})();
