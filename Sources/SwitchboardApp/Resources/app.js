// The inbox's script: actions as fetch() calls to the /v1 JSON routes with the session's
// CSRF token, and live updates from /app/events (server-sent events) that re-fetch the
// server-rendered fragments. No build step, no inline script (the pages' CSP forbids it).
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var body = document.body;
  var conversationID = body.getAttribute('data-conversation-id');
  var contactID = body.getAttribute('data-contact-id');
  var listQuery = body.getAttribute('data-list-query') || '';
  var baseTitle = document.title;
  var missed = 0;

  function $(id) { return document.getElementById(id); }

  function flash(text) {
    var box = $('flash');
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(flash.timer);
    flash.timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  function call(method, url, payload) {
    var options = { method: method, credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf, 'Accept': 'application/json' } };
    if (payload !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(payload);
    }
    return fetch(url, options).then(function (response) {
      if (response.ok) return response;
      return response.json().then(function (error) {
        throw new Error((error && error.error && error.error.message) || response.statusText);
      }, function () { throw new Error(response.statusText || 'Request failed'); });
    }).catch(function (error) { flash(error.message); throw error; });
  }

  function fetchHTML(url) {
    return fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (response) {
      if (!response.ok) throw new Error(response.statusText);
      return response.text();
    });
  }

  // Fragments, fetched at most one at a time each; a request during one runs after it.
  function coalesced(run) {
    var running = false, again = false;
    return function trigger() {
      if (running) { again = true; return; }
      running = true;
      run().catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; trigger(); }
      });
    };
  }

  // The list is refreshed after the messages when both are due: fetching the messages
  // marks them read, so the list fetched after shows no unread badge for them.
  var listAfterMessages = false;
  var refreshMessages = coalesced(function () {
    if (!conversationID) return Promise.resolve();
    return fetchHTML('/app/conversations/' + conversationID + '/messages').then(function (html) {
      var box = $('messages');
      if (!box) return;
      var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
      box.innerHTML = html;
      if (atBottom) box.scrollTop = box.scrollHeight;
    }).then(function () {
      if (listAfterMessages) { listAfterMessages = false; refreshList(); }
    });
  });

  var refreshList = coalesced(function () {
    var url = '/app/inbox/list?' + listQuery + (conversationID ? (listQuery ? '&' : '') + 'open=' + conversationID : '');
    return fetchHTML(url).then(function (html) {
      var list = $('conversation-list');
      if (list) list.innerHTML = html;
    });
  });

  function reload() { window.location.reload(); }

  function on(id, event, handler) {
    var element = $(id);
    if (element) element.addEventListener(event, handler);
  }

  if (conversationID) {
    var base = '/v1/conversations/' + conversationID;
    on('take-over', 'click', function () { call('POST', base + '/handoff', { reason: 'taken over in the inbox' }).then(reload, function () {}); });
    on('give-back', 'click', function () { call('POST', base + '/resume').then(reload, function () {}); });
    on('close-conversation', 'click', function () { call('POST', base + '/close').then(reload, function () {}); });
    on('reopen-conversation', 'click', function () { call('POST', base + '/reopen').then(reload, function () {}); });
    on('assign-select', 'change', function (event) {
      var value = event.target.value;
      call('POST', base + '/assign', { user_id: value ? value : null }).then(reload, function () {});
    });
    on('reply-form', 'submit', function (event) {
      event.preventDefault();
      var text = $('reply-text');
      if (!text || !text.value.trim()) return;
      var send = $('reply-send');
      if (send) send.disabled = true;
      call('POST', base + '/messages', { text: text.value }).then(function () {
        text.value = '';
        refreshMessages();
      }, function () {}).then(function () { if (send) send.disabled = false; });
    });
    on('note-form', 'submit', function (event) {
      event.preventDefault();
      var text = $('note-text');
      if (!text || !text.value.trim() || !contactID) return;
      call('POST', '/v1/contacts/' + contactID + '/notes', { body: text.value }).then(reload, function () {});
    });
    var box = $('messages');
    if (box) box.scrollTop = box.scrollHeight;
  }

  // Notifications: permission is asked on a click; without it the title counts.
  on('enable-notifications', 'click', function () {
    if (!('Notification' in window)) { flash('This browser cannot show notifications; the tab title will count them.'); return; }
    Notification.requestPermission().then(function (permission) {
      flash(permission === 'granted' ? 'Notifications are on.' : 'Notifications are off; the tab title will count handoffs.');
    });
  });
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) { missed = 0; document.title = baseTitle; }
  });

  function notifyHandoff(data) {
    if ('Notification' in window && Notification.permission === 'granted') {
      var note = new Notification('A conversation needs a person', { body: 'Handed off by the AI', tag: data.conversation_id });
      note.onclick = function () { window.focus(); window.location.href = '/app/conversations/' + data.conversation_id; };
    } else {
      missed += 1;
      document.title = '(' + missed + ') ' + baseTitle;
    }
  }

  // Live events.
  var status = $('live-status');
  function setStatus(state, text) {
    if (!status) return;
    status.setAttribute('data-state', state);
    status.textContent = text;
  }
  if (!('EventSource' in window)) { setStatus('off', 'Not live'); return; }
  var source = new EventSource('/app/events');
  source.onopen = function () { setStatus('live', 'Live'); };
  source.onerror = function () { setStatus('reconnecting', 'Reconnecting…'); };
  var kinds = ['message', 'status', 'edited', 'closed', 'reopened', 'handed_off', 'resumed', 'assigned', 'conversation', 'resync'];
  kinds.forEach(function (kind) {
    source.addEventListener(kind, function (event) {
      var data = {};
      try { data = JSON.parse(event.data); } catch (error) { return; }
      setStatus('live', 'Live');
      var ours = kind === 'resync' || (conversationID && data.conversation_id === conversationID);
      if (ours && (kind === 'message' || kind === 'status' || kind === 'edited' || kind === 'resync')) {
        listAfterMessages = true;
        refreshMessages();
      } else {
        refreshList();
      }
      if (kind === 'handed_off') notifyHandoff(data);
    });
  });
})();
