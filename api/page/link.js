// bankfeed's Bank Linking script: the /link page inlines it, and a
// platform can embed it (GET /link.js): a div with id bankfeed-link, then
// a script element loading BANKFEED/link.js with the attributes
// data-business (the business id) and data-token (a scoped token).
// It needs Plaid's link-initialize.js and nothing else. The scoped token
// stays in memory: it is never written into the page.
(function () {
  "use strict";
  var me = document.currentScript;
  var data = me ? me.dataset : {};
  var base = "";
  if (me && me.src) {
    base = new URL(me.src).origin;
  }
  var params = new URLSearchParams(window.location.search);
  var token = data.token || params.get("token") || "";
  var business = data.business || "";
  if (params.get("token") && window.history && window.history.replaceState) {
    // Keep the credential out of the address bar, bookmarks and Referer.
    params.delete("token");
    var q = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (q ? "?" + q : ""));
  }

  var root = document.getElementById("bankfeed-link");
  if (!root) {
    root = document.createElement("div");
    root.id = "bankfeed-link";
    me.parentNode.insertBefore(root, me.nextSibling);
  }
  root.innerHTML = "";
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  var status = el("p", { id: "bf-status", role: "status", "aria-live": "polite" }, "Loading your linked accounts…");
  var error = el("p", { id: "bf-error", role: "alert", "class": "bf-error" });
  error.hidden = true;
  var linkBtn = el("button", { id: "bf-link", type: "button", "class": "bf-primary" }, "Link a bank account");
  linkBtn.disabled = true;
  var heading = el("h2", { id: "bf-linked" }, "Linked accounts");
  var list = el("ul", { id: "bf-items", "class": "bf-items", "aria-labelledby": "bf-linked" });
  [status, error, linkBtn, heading, list].forEach(function (e) { root.appendChild(e); });

  function say(msg) { status.textContent = msg; }
  function fail(msg) {
    error.textContent = msg;
    error.hidden = false;
  }
  function clearError() { error.hidden = true; error.textContent = ""; }

  function api(method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(base + "/v1/businesses/" + encodeURIComponent(business) + path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!resp.ok) {
          var msg = json && json.error && json.error.message ? json.error.message : "the server answered " + resp.status;
          if (resp.status === 401) { msg = "This link has expired or is not valid (" + msg + "). Ask for a new link."; }
          throw new Error(msg);
        }
        return json;
      });
    }, function () {
      throw new Error("bankfeed could not be reached; check your connection and try again.");
    });
  }

  function statusWords(s) {
    if (s === "active") { return "Connected"; }
    if (s === "needs_refresh") { return "Needs your login again"; }
    if (s === "unlinked" || s === "removed") { return "Unlinked"; }
    return s;
  }

  function render(items, accounts) {
    list.innerHTML = "";
    var shown = 0;
    items.forEach(function (it) {
      if (it.status === "removed") { return; }
      shown++;
      var li = el("li", { "class": "bf-item", "data-item-id": it.item_id });
      var head = el("div", { "class": "bf-item-head" });
      head.appendChild(el("strong", {}, "Bank " + (it.institution_id || "")));
      var st = el("span", { "class": "bf-badge bf-" + it.status }, statusWords(it.status));
      head.appendChild(st);
      li.appendChild(head);
      if (it.status === "needs_refresh" || it.pending_disconnect) {
        var why = it.status === "needs_refresh"
          ? "The bank needs you to log in again" + (it.reason ? " (" + it.reason + ")" : "") + "."
          : "The bank connection stops working soon unless you reconnect.";
        li.appendChild(el("p", { "class": "bf-why" }, why));
        var re = el("button", { type: "button", "class": "bf-reconnect" }, "Reconnect");
        re.addEventListener("click", function () { openLink(it.item_id); });
        li.appendChild(re);
      }
      var ul = el("ul", { "class": "bf-accounts" });
      accounts.filter(function (a) { return a.item_id === it.item_id; }).forEach(function (a) {
        var ali = el("li", { "class": "bf-account" });
        ali.appendChild(el("span", { "class": "bf-name" }, a.name + (a.mask ? " ••" + a.mask : "")));
        ali.appendChild(el("span", { "class": "bf-sub" }, a.subtype || a.type));
        ali.appendChild(el("span", { "class": "bf-badge bf-" + a.token_status }, statusWords(a.token_status)));
        ul.appendChild(ali);
      });
      li.appendChild(ul);
      list.appendChild(li);
    });
    if (shown === 0) {
      list.appendChild(el("li", { "class": "bf-empty" }, "No bank linked yet."));
    }
  }

  function refresh() {
    return Promise.all([api("GET", "/plaid/items"), api("GET", "/plaid/accounts")]).then(function (r) {
      render(r[0] || [], r[1] || []);
      say("");
    }, function (e) { say(""); fail(e.message); });
  }

  function openLink(itemId) {
    clearError();
    if (!window.Plaid || typeof window.Plaid.create !== "function") {
      fail("Plaid Link could not be loaded; check your connection or content blocker and reload the page.");
      return;
    }
    linkBtn.disabled = true;
    say("Opening Plaid Link…");
    api("POST", "/plaid/link-token", itemId ? { item_id: itemId } : {}).then(function (lt) {
      var handler = window.Plaid.create({
        token: lt.link_token,
        onSuccess: function (publicToken) {
          if (itemId) {
            linkBtn.disabled = false;
            return api("POST", "/plaid/items/" + encodeURIComponent(itemId) + "/reconnected", {}).then(function () {
              // After the refresh: it clears the status line, and the
              // message must stay until the next action.
              return refresh().then(function () {
                say("Reconnected. bankfeed checks the bank again now and syncs the accounts once Plaid confirms the repair.");
              });
            }, function (e) { fail("Reconnected at Plaid, but bankfeed could not be told: " + e.message + ". It checks again on its own within hours."); });
          }
          say("Saving the linked bank…");
          return api("POST", "/plaid/items", { public_token: publicToken }).then(function (res) {
            return refresh().then(function () {
              say("Linked " + res.accounts.length + " account" + (res.accounts.length === 1 ? "" : "s") + ".");
            });
          }, function (e) { say(""); fail("The bank could not be saved: " + e.message); }).then(function () {
            linkBtn.disabled = false;
          });
        },
        onExit: function (err) {
          linkBtn.disabled = false;
          say("");
          if (err) {
            fail("Plaid Link stopped: " + (err.display_message || err.error_message || err.error_code || "unknown error") + ". Try again.");
          }
        }
      });
      handler.open();
    }, function (e) {
      linkBtn.disabled = false;
      say("");
      fail("Plaid Link could not be started: " + e.message);
    });
  }

  linkBtn.addEventListener("click", function () { openLink(""); });
  if (!token || !business) {
    say("");
    fail("This page needs a link from your platform (it carries a short-lived token). Ask for a new link.");
    return;
  }
  refresh().then(function () { linkBtn.disabled = false; });
})();
