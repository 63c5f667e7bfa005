// kftest customer window: plays a WeChat customer against the emulator's
// control API (/_kftest/...). Plain JS, no build step, no dependencies.
'use strict';

(() => {
  const $ = (sel) => document.querySelector(sel);

  // Session states (shared/api-surface.md §4).
  const STATES = {
    0: ['未处理', 'untreated'],
    1: ['由智能助手接待', 'bot'],
    2: ['待接入池排队中', 'queued'],
    3: ['由人工接待', 'servicer'],
    4: ['已结束/未开始', 'ended'],
  };
  const ORIGINS = { 3: 'customer', 4: 'system', 5: 'servicer' };
  const RECALL_MS = 2 * 60 * 1000;
  const TIME_GAP_MS = 5 * 60 * 1000;

  const app = {
    state: null,     // GET /_kftest/state
    customer: '',    // external_userid
    account: '',     // open_kfid
    conv: null,      // GET /_kftest/conversation
    rendered: [],    // keys of the rendered message entries
    logKey: '',      // what the sync log panel shows
    now: null,       // the emulator's clock at the last refresh (Date)
  };

  // ---- helpers -------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  async function api(method, path, body) {
    const opts = { method, headers: {} };
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    const text = await res.text();
    let data;
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
    if (!res.ok) throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
    return data;
  }

  function qs(params) {
    return new URLSearchParams(params).toString();
  }

  let toastTimer = 0;
  function toast(msg, isError) {
    const t = $('#toast');
    t.textContent = msg;
    t.classList.toggle('error', !!isError);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 6000 : 2500);
  }
  const fail = (e) => toast(e && e.message ? e.message : String(e), true);

  function safeURL(u) {
    if (!u) return null;
    try {
      const x = new URL(u, location.href);
      return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
    } catch (e) {
      return null;
    }
  }

  // Small inline icons (no emoji: not every machine has an emoji font).
  const ICONS = {
    pin: 'M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z',
    file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8l-6-6zm-1 7V3.5L18.5 9H13z',
    mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1A7 7 0 0 0 19 11h-2z',
    person: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm0 2c-4 0-8 2-8 5v1h16v-1c0-3-4-5-8-5z',
    link: 'M10.6 13.4a1 1 0 0 1 0-1.4l3.5-3.5a1 1 0 1 1 1.4 1.4L12 13.4a1 1 0 0 1-1.4 0zM8.5 19a3.5 3.5 0 0 1-2.5-6l2-2 1.4 1.4-2 2a1.5 1.5 0 0 0 2.1 2.1l2-2 1.4 1.4-2 2a3.5 3.5 0 0 1-2.4 1.1zm7-3.6-1.4-1.4 2-2a1.5 1.5 0 0 0-2.1-2.1l-2 2-1.4-1.4 2-2a3.5 3.5 0 0 1 5 5l-2 2z',
  };
  function icon(name) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('d', ICONS[name]);
    svg.append(path);
    return svg;
  }

  const mediaURL = (id) => '/_kftest/media/' + encodeURIComponent(id);

  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(d, withDate) {
    if (!(d instanceof Date) || isNaN(d)) return '';
    const t = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}` : t;
  }
  function fmtDuration(ms) {
    const m = Math.round(ms / 60000);
    if (m < 60) return `${m} min`;
    const hrs = Math.floor(m / 60);
    return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  }
  const initial = (s) => (Array.from((s || '?').trim())[0] || '?').toUpperCase();

  function accountName(id) {
    const a = app.state && app.state.accounts.find((x) => x.open_kfid === id);
    return a ? a.name || a.open_kfid : id;
  }
  function customerName(id) {
    const c = app.state && app.state.customers.find((x) => x.external_userid === id);
    return c ? c.nickname || c.external_userid : id;
  }

  // ---- selection -----------------------------------------------------

  function fillSelect(sel, items, value, placeholder) {
    const want = JSON.stringify([items, value]);
    if (sel.dataset.sig === want) return;
    sel.dataset.sig = want;
    sel.replaceChildren(h('option', { value: '', text: placeholder }),
      ...items.map(([v, label]) => h('option', { value: v, text: label })));
    sel.value = value;
  }

  function renderSelects() {
    const st = app.state;
    const ids = (xs, key) => xs.map((x) => x[key]);
    const before = app.customer + '\n' + app.account;
    if (!app.customer || !ids(st.customers, 'external_userid').includes(app.customer)) {
      app.customer = st.customers.length ? st.customers[0].external_userid : '';
    }
    if (!app.account || !ids(st.accounts, 'open_kfid').includes(app.account)) {
      app.account = st.accounts.length ? st.accounts[0].open_kfid : '';
    }
    fillSelect($('#customer-select'),
      st.customers.map((c) => [c.external_userid, `${c.nickname} · ${c.external_userid}`]),
      app.customer, st.customers.length ? '— choose a customer —' : '— no customer: add one —');
    fillSelect($('#account-select'),
      st.accounts.map((a) => [a.open_kfid, `${a.name || '(no name)'} · ${a.open_kfid}`]),
      app.account, st.accounts.length ? '— choose an account —' : '— no account —');
    if (before !== app.customer + '\n' + app.account) {
      // The chosen customer or account is gone (or none was chosen yet).
      app.rendered = [];
      app.logKey = '';
      $('#messages').replaceChildren();
      loadLinks();
    }
    saveSelection();
  }

  function saveSelection() {
    const p = new URLSearchParams(location.search);
    app.customer ? p.set('customer', app.customer) : p.delete('customer');
    app.account ? p.set('account', app.account) : p.delete('account');
    const s = p.toString();
    const url = location.pathname + (s ? '?' + s : '') + location.hash;
    if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
  }

  function select(customer, account) {
    const changed = customer !== app.customer || account !== app.account;
    app.customer = customer;
    app.account = account;
    if (changed) {
      app.conv = null;
      app.rendered = [];
      app.logKey = '';
      stick = true;
      $('#messages').replaceChildren();
      $('#customer-select').value = customer;
      $('#account-select').value = account;
      saveSelection();
      loadLinks();
      renderChrome();
    }
    refresh();
  }

  // ---- refresh -------------------------------------------------------

  let refreshing = false;
  let again = false;
  async function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      do {
        again = false;
        await refreshOnce();
      } while (again);
    } catch (e) {
      fail(e);
    } finally {
      refreshing = false;
    }
  }

  let refreshTimer = 0;
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 30);
  }

  async function refreshOnce() {
    app.state = await api('GET', '/_kftest/state');
    app.now = new Date(app.state.now);
    renderSelects();
    const customer = app.customer;
    const account = app.account;
    if (customer && account) {
      const [conv, log] = await Promise.all([
        api('GET', '/_kftest/conversation?' + qs({ open_kfid: account, external_userid: customer })),
        api('GET', '/_kftest/synclog?' + qs({ open_kfid: account })),
      ]);
      if (customer !== app.customer || account !== app.account) { again = true; return; }
      app.conv = conv;
      renderMessages(conv.messages || []);
      renderSession(conv.session);
      renderSyncLog(log.msg_list || []);
    } else {
      app.conv = null;
      renderMessages([]);
      renderSession(null);
      renderSyncLog([]);
    }
    renderChrome();
  }

  function renderChrome() {
    const ready = !!(app.customer && app.account);
    $('#chat-title').textContent = ready ? accountName(app.account) : 'Choose a customer and an account';
    $('#chat-sub').textContent = ready ? `you are ${customerName(app.customer)} · 微信客服` : '';
    for (const id of ['#message-input', '#send-button', '#image-button', '#enter-button', '#create-link-button']) {
      $(id).disabled = !ready;
    }
    const hasMsgs = $('#messages').children.length > 0;
    const hint = $('#empty-hint');
    hint.hidden = hasMsgs;
    hint.textContent = ready ? 'No messages yet. Say hello to start a session.' : 'Choose a customer and an account above.';
    $('#clock').textContent = app.now ? 'clock ' + fmtTime(app.now, true) + ':' + pad(app.now.getSeconds()) : '';
    document.body.dataset.ready = '1';
  }

  // ---- messages ------------------------------------------------------

  function canRecall(m) {
    return m.from === 'customer' && !m.recalled && app.now && app.now - new Date(m.sent_at) <= RECALL_MS;
  }

  function msgKey(m) {
    return [m.msgid, m.recalled ? 'r' : '', m.failed ? 'f' : '', canRecall(m) ? 'c' : ''].join('|');
  }

  function renderMessages(list) {
    const box = $('#messages');
    const keys = list.map(msgKey);
    let i = 0;
    while (i < app.rendered.length && i < keys.length && app.rendered[i] === keys[i]) i++;
    if (i === keys.length && i === app.rendered.length) return;
    const nearBottom = stick || box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    while (box.children.length > i) box.lastElementChild.remove();
    for (let j = i; j < list.length; j++) box.append(renderEntry(list[j], list[j - 1]));
    const appended = keys.length > app.rendered.length;
    app.rendered = keys;
    if (nearBottom || appended) scrollToEnd();
  }

  // The chat follows new messages while the reader is at the end, also when
  // images load after the message is shown.
  let stick = true;
  function scrollToEnd() {
    const box = $('#messages');
    box.scrollTop = box.scrollHeight;
    stick = true;
  }
  // Only the reader scrolling up unsticks: content growing below (an
  // image loading) does not move scrollTop.
  let lastTop = 0;
  function onScroll() {
    const box = $('#messages');
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (atEnd) stick = true;
    else if (box.scrollTop < lastTop - 2) stick = false;
    lastTop = box.scrollTop;
  }
  function onMediaLoad() {
    if (stick) $('#messages').scrollTop = $('#messages').scrollHeight;
  }

  function renderEntry(m, prev) {
    const entry = h('div', { class: 'entry' });
    const at = new Date(m.sent_at);
    if (!prev || at - new Date(prev.sent_at) >= TIME_GAP_MS) {
      entry.append(h('div', { class: 'msg system time-sep' }, h('span', { class: 'system-note', text: fmtTime(at, true) })));
    }
    entry.append(renderMsg(m));
    return entry;
  }

  function renderMsg(m) {
    const p = m.payload || {};
    if (m.from === 'system') {
      return h('div', { class: 'msg system', dataset: { msgid: m.msgid, event: p.event_type || '' } },
        h('span', { class: 'system-note', text: describeEvent(p), title: new Date(m.sent_at).toString() }));
    }
    const mine = m.from === 'customer';
    const cls = ['msg', mine ? 'outgoing' : 'incoming', 'type-' + m.msgtype];
    if (m.recalled) cls.push('recalled');
    if (m.failed) cls.push('failed');

    let avatar;
    let sender = null;
    if (mine) {
      avatar = h('div', { class: 'avatar', text: initial(customerName(app.customer)), title: customerName(app.customer) });
    } else if (m.from === 'servicer') {
      avatar = h('div', { class: 'avatar servicer', text: initial(m.servicer_userid), title: m.servicer_userid });
      sender = `${m.servicer_userid} · servicer 接待人员`;
    } else {
      avatar = h('div', { class: 'avatar', text: initial(accountName(app.account)), title: accountName(app.account) });
      sender = m.from === 'event' ? `${accountName(app.account)} · send_msg_on_event` : accountName(app.account);
    }

    const meta = [];
    if (m.recalled) meta.push(h('span', { text: mine ? 'You recalled this message 你撤回了一条消息' : 'Recalled 已撤回' }));
    if (m.failed) meta.push(h('span', { text: `send failed (fail_type ${m.fail_type || 0})` }));
    if (canRecall(m)) {
      meta.push(h('button', { type: 'button', class: 'recall-btn', text: '撤回 recall', title: 'Recall (within 2 minutes)',
        onclick: () => recall(m.msgid) }));
    }

    const body = h('div', { class: 'msg-body' },
      sender && h('div', { class: 'sender', text: sender }),
      renderContent(m.msgtype, p, mine),
      meta.length ? h('div', { class: 'meta' }, meta) : null);
    return h('div', { class: cls.join(' '), dataset: { msgid: m.msgid, from: m.from }, title: fmtTime(new Date(m.sent_at), true) },
      avatar, body, m.failed ? h('span', { class: 'fail-mark', text: '!' }) : null);
  }

  function bubble(...children) {
    return h('div', { class: 'bubble' }, ...children);
  }
  function bare(...children) {
    return h('div', { class: 'bubble bare' }, ...children);
  }

  function mediaImg(id, cls, alt) {
    const img = h('img', { class: cls, src: mediaURL(id), alt: alt, onload: onMediaLoad });
    img.addEventListener('error', () => {
      img.replaceWith(h('div', { class: cls + ' placeholder', text: `[${alt}: media ${id} expired or unknown]` }));
    }, { once: true });
    return img;
  }

  function renderContent(type, p, mine) {
    switch (type) {
      case 'text':
        return bubble(p.content || '', p.menu_id ? h('span', { class: 'menu-tag', text: 'menu_id ' + p.menu_id }) : null);
      case 'image':
        return bare(p.media_id ? mediaImg(p.media_id, 'msg-image', 'image') : h('span', { text: '[image]' }));
      case 'video':
        return bare(h('video', { class: 'msg-video', src: mediaURL(p.media_id), controls: true, preload: 'metadata', onloadedmetadata: onMediaLoad }));
      case 'voice':
        return bubble(icon('mic'), ' Voice message 语音 · ', h('a', { href: mediaURL(p.media_id), download: '', text: 'download' }));
      case 'file':
        return bare(h('a', { class: 'file-card', href: mediaURL(p.media_id), download: '' },
          h('div', { class: 'card-title' }, icon('file'), 'File 文件'),
          h('div', { class: 'card-desc', text: p.media_id })));
      case 'location':
        return bare(h('div', { class: 'card location' },
          h('div', { class: 'card-title', text: p.name || 'Location 位置' }),
          p.address ? h('div', { class: 'card-desc', text: p.address }) : null,
          h('div', { class: 'loc-map' }, icon('pin')),
          h('div', { class: 'card-foot', text: `${Number(p.latitude).toFixed(5)}, ${Number(p.longitude).toFixed(5)}` })));
      case 'link': {
        const href = safeURL(p.url);
        const thumb = p.thumb_media_id ? mediaImg(p.thumb_media_id, 'card-thumb', 'thumbnail')
          : safeURL(p.pic_url) ? h('img', { class: 'card-thumb', src: safeURL(p.pic_url), alt: '', referrerpolicy: 'no-referrer', onload: onMediaLoad }) : null;
        return bare(h(href ? 'a' : 'div', { class: 'card link', href, target: href ? '_blank' : null, rel: href ? 'noopener noreferrer' : null },
          h('div', { class: 'card-title', text: p.title || p.url || 'Link' }),
          h('div', { class: 'card-row' }, h('div', { class: 'card-desc', text: p.desc || '' }), thumb),
          h('div', { class: 'card-foot', text: hostOf(p.url) })));
      }
      case 'miniprogram':
        return bare(h('div', { class: 'card miniprogram', title: `${p.appid || ''} ${p.pagepath || ''}` },
          h('div', { class: 'card-title', text: p.title || p.appid || 'Mini program' }),
          p.thumb_media_id ? mediaImg(p.thumb_media_id, 'mp-thumb', 'cover')
            : h('div', { class: 'mp-thumb placeholder', text: 'mini program' }),
          h('div', { class: 'card-foot' }, h('span', { class: 'mp-icon', text: 'S' }), ` 小程序 · ${p.appid || ''}`)));
      case 'msgmenu':
        return bubble(renderMenu(p, mine));
      case 'business_card':
        return bare(h('div', { class: 'card' },
          h('div', { class: 'card-title' }, icon('person'), p.userid || ''),
          h('div', { class: 'card-foot', text: 'Business card 名片' })));
      case 'ca_link': {
        const href = safeURL(p.link_url);
        return bare(h(href ? 'a' : 'div', { class: 'card', href, target: href ? '_blank' : null, rel: 'noopener noreferrer' },
          h('div', { class: 'card-title' }, icon('link'), 'Customer acquisition link 获客链接'),
          h('div', { class: 'card-foot', text: p.link_url || '' })));
      }
      default:
        return bare(h('div', { class: 'card' },
          h('div', { class: 'card-title', text: type }),
          h('pre', { class: 'raw', text: JSON.stringify(p, null, 1).slice(0, 600) })));
    }
  }

  function hostOf(u) {
    try { return new URL(u).host; } catch (e) { return ''; }
  }

  function renderMenu(p, mine) {
    const items = h('div', { class: 'menu-items' });
    for (const it of p.list || []) {
      let el;
      let br = true;
      switch (it.type) {
        case 'click': {
          const c = it.click || {};
          el = h('button', { type: 'button', class: 'menu-item click', dataset: { menuId: c.id || '' }, text: c.content || c.id,
            disabled: mine ? true : null, onclick: () => menuClick(c.id, c.content || c.id) });
          break;
        }
        case 'view': {
          const v = it.view || {};
          const href = safeURL(v.url);
          el = h('a', { class: 'menu-item view', href, target: '_blank', rel: 'noopener noreferrer', text: v.content || v.url, title: v.url });
          break;
        }
        case 'miniprogram': {
          const mp = it.miniprogram || {};
          el = h('span', { class: 'menu-item miniprogram', title: `${mp.appid || ''} ${mp.pagepath || ''}`, dataset: { appid: mp.appid || '' } },
            h('span', { class: 'mp-icon', text: 'S' }), mp.content || mp.appid);
          break;
        }
        case 'text': {
          const t = it.text || {};
          el = h('span', { class: 'menu-item text', text: t.content || '' });
          br = t.no_newline !== 1;
          break;
        }
        default:
          el = h('span', { class: 'menu-item', text: `[${it.type}]` });
      }
      items.append(el);
      if (br) items.append(h('span', { class: 'menu-br' }));
    }
    return h('div', { class: 'menu' },
      p.head_content ? h('div', { class: 'menu-head', text: p.head_content }) : null,
      items,
      p.tail_content ? h('div', { class: 'menu-tail', text: p.tail_content }) : null);
  }

  function describeEvent(e) {
    switch (e.event_type) {
      case 'enter_session': {
        const parts = ['You entered the chat 进入会话'];
        if (e.scene) parts.push(`scene ${e.scene}`);
        if (e.scene_param) parts.push(`scene_param ${e.scene_param}`);
        if (e.wechat_channels) parts.push('from 视频号');
        if (e.welcome_code) parts.push('welcome_code issued');
        return parts.join(' · ');
      }
      case 'session_status_change':
        switch (e.change_type) {
          case 1: return `${e.new_servicer_userid} accepted the session 接入会话`;
          case 2: return `Transferred from ${e.old_servicer_userid} to ${e.new_servicer_userid} 转接会话`;
          case 3: return `${e.old_servicer_userid || 'The servicer'} ended the session 结束会话`;
          case 4: return `${e.new_servicer_userid} re-engaged the session 重新接入`;
          default: return `session_status_change ${e.change_type}`;
        }
      case 'user_recall_msg': return 'You recalled a message 撤回消息';
      case 'servicer_recall_msg': return `${e.servicer_userid} recalled a message`;
      case 'msg_send_fail': return `A message failed to send (fail_type ${e.fail_type})`;
      case 'reject_customer_msg_switch_change':
        return e.reject_switch === 1 ? `${e.servicer_userid} rejects your messages 拒收` : `${e.servicer_userid} accepts your messages again`;
      default: return e.event_type || 'event';
    }
  }

  // ---- platform panel ------------------------------------------------

  function renderSession(s) {
    const el = $('#session-state');
    if (!s) {
      el.dataset.state = '';
      el.textContent = '—';
      for (const id of ['#session-servicer', '#session-budget', '#session-window', '#session-consulted']) $(id).textContent = '—';
      return;
    }
    const n = s.service_state;
    const [zh, en] = STATES[n] || ['?', s.state_name];
    el.dataset.state = String(n);
    el.textContent = `${n} · ${zh} · ${en}`;
    $('#session-servicer').textContent = s.servicer_userid || '—';
    $('#session-budget').textContent = s.consulted ? `${s.budget} / 5 messages` : '— (the customer has not written)';
    const w = $('#session-window');
    if (s.window_ends) {
      const end = new Date(s.window_ends);
      const left = app.now ? end - app.now : 0;
      w.textContent = fmtTime(end, true) + (left > 0 ? ` (in ${fmtDuration(left)})` : ' (closed: 95002)');
    } else {
      w.textContent = '—';
    }
    $('#session-consulted').textContent = (s.consulted ? 'yes' : 'no') + (s.rejecting ? ' · rejected by a servicer 拒收' : '');
  }

  function renderSyncLog(list) {
    const key = app.account + '|' + list.length + '|' + (list.length ? list[list.length - 1].msgid : '');
    if (key === app.logKey) return;
    app.logKey = key;
    const ol = $('#sync-log');
    const open = new Set(Array.from(ol.querySelectorAll('details[open]')).map((d) => d.dataset.msgid));
    $('#sync-count').textContent = String(list.length);
    const shown = list.slice(-200).reverse();
    if (!shown.length) {
      ol.replaceChildren(h('li', { class: 'empty', text: 'Nothing yet: the account\'s sync_msg log is empty.' }));
      return;
    }
    ol.replaceChildren(...shown.map((m) => {
      const ev = m.msgtype === 'event' && m.event ? m.event : null;
      const kind = ev ? ev.event_type : m.msgtype;
      const who = m.external_userid || (ev && ev.external_userid) || '';
      const other = who && who !== app.customer;
      const d = h('details', { dataset: { msgid: m.msgid }, open: open.has(m.msgid) || null },
        h('summary', {},
          h('span', { class: 'kind', text: kind }),
          h('span', { class: 'origin', text: (ORIGINS[m.origin] || `origin ${m.origin}`) + (other ? ' · other customer' : '') }),
          h('span', { class: 'time', text: fmtTime(new Date(m.send_time * 1000), false) })),
        h('pre', { text: JSON.stringify(m, null, 2) }));
      return h('li', { class: other ? 'other' : null, dataset: { msgtype: m.msgtype } }, d);
    }));
  }

  // ---- actions -------------------------------------------------------

  function target() {
    return { open_kfid: app.account, external_userid: app.customer };
  }

  async function sendMsg(msgtype, payload) {
    if (!app.customer || !app.account) throw new Error('choose a customer and an account first');
    const r = await api('POST', '/_kftest/customer/send', { ...target(), msgtype, [msgtype]: payload });
    scheduleRefresh();
    return r;
  }

  async function sendText() {
    const input = $('#message-input');
    const text = input.value;
    if (!text.trim()) return;
    $('#send-button').disabled = true;
    try {
      await sendMsg('text', { content: text });
      input.value = '';
      autosize();
    } catch (e) {
      fail(e);
    } finally {
      $('#send-button').disabled = !(app.customer && app.account);
      input.focus();
    }
  }

  function menuClick(id, content) {
    sendMsg('text', { content, menu_id: id }).catch(fail);
  }

  async function sendImage(file) {
    const fd = new FormData();
    fd.append('media', file, file.name || 'image.png');
    const up = await api('POST', '/_kftest/media?' + qs({ type: 'image' }), fd);
    await sendMsg('image', { media_id: up.media_id });
  }

  async function recall(msgid) {
    try {
      await api('POST', '/_kftest/customer/recall', { ...target(), msgid });
      scheduleRefresh();
    } catch (e) {
      fail(e);
    }
  }

  async function loadLinks() {
    const sel = $('#link-select');
    if (!app.account) {
      sel.replaceChildren(h('option', { value: '', text: '— existing links —' }));
      return;
    }
    try {
      const r = await api('GET', '/_kftest/contact_links?' + qs({ open_kfid: app.account }));
      sel.replaceChildren(h('option', { value: '', text: r.links.length ? '— existing links —' : '— no link yet —' }),
        ...r.links.map((l) => h('option', { value: l.url, text: (l.scene ? `scene ${l.scene}` : 'no scene') + ' · ' + l.url })));
    } catch (e) {
      fail(e);
    }
  }

  async function createLink() {
    const scene = $('#scene-input').value.trim();
    const r = await api('POST', '/_kftest/contact_links', { open_kfid: app.account, scene: scene || undefined });
    $('#link-input').value = r.url;
    await loadLinks();
    $('#link-select').value = r.url;
    toast('Contact link ready: ' + r.url);
  }

  async function enter() {
    const link = $('#link-input').value.trim();
    const sceneParam = $('#scene-param-input').value;
    let account = app.account;
    if (link) {
      const r = await api('POST', '/_kftest/contact_links/resolve', { url: link });
      if (r.open_kfid !== account) {
        select(app.customer, r.open_kfid);
        account = r.open_kfid;
      }
    }
    const r = await api('POST', '/_kftest/enter', {
      open_kfid: account, external_userid: app.customer, link: link || undefined, scene_param: sceneParam || undefined,
    });
    toast(r.welcome_code ? 'Entered the chat (welcome_code issued)' : 'Entered the chat');
    $('#enter-panel').open = false;
    scheduleRefresh();
  }

  async function addCustomer() {
    const name = $('#new-customer-name').value.trim();
    const r = await api('POST', '/_kftest/customers', name ? { nickname: name } : {});
    $('#new-customer-name').value = '';
    $('#new-customer-form').hidden = true;
    app.state = await api('GET', '/_kftest/state');
    select(r.external_userid, app.account);
    renderSelects();
  }

  function autosize() {
    const t = $('#message-input');
    t.style.height = 'auto';
    t.style.height = Math.min(t.scrollHeight + 2, 120) + 'px';
  }

  // ---- live updates --------------------------------------------------

  let es = null;
  function setConn(state, text) {
    const c = $('#connection');
    c.dataset.state = state;
    c.textContent = text;
  }
  function connect() {
    if (es) es.close();
    es = new EventSource('/_kftest/events');
    es.addEventListener('open', () => { setConn('live', 'live'); scheduleRefresh(); });
    es.addEventListener('update', scheduleRefresh);
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CLOSED) {
        setConn('offline', 'offline');
        setTimeout(connect, 3000);
      } else {
        setConn('connecting', 'reconnecting…');
      }
    });
  }
  // A slow poll in case events are lost (proxies, sleeping laptops).
  setInterval(() => { if (!document.hidden) scheduleRefresh(); }, 15000);

  // ---- wiring --------------------------------------------------------

  function init() {
    const p = new URLSearchParams(location.search);
    app.customer = p.get('customer') || '';
    app.account = p.get('account') || '';

    $('#messages').addEventListener('scroll', onScroll, { passive: true });
    if (window.ResizeObserver) new ResizeObserver(onMediaLoad).observe($('#messages'));
    $('#customer-select').addEventListener('change', (e) => select(e.target.value, app.account));
    $('#account-select').addEventListener('change', (e) => select(app.customer, e.target.value));
    $('#composer').addEventListener('submit', (e) => { e.preventDefault(); sendText(); });
    const input = $('#message-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(); }
    });
    input.addEventListener('input', autosize);
    $('#image-button').addEventListener('click', () => $('#image-input').click());
    $('#image-input').addEventListener('change', (e) => {
      const f = e.target.files && e.target.files[0];
      e.target.value = '';
      if (f) sendImage(f).catch(fail);
    });
    $('#new-customer-button').addEventListener('click', () => {
      const f = $('#new-customer-form');
      f.hidden = !f.hidden;
      if (!f.hidden) $('#new-customer-name').focus();
    });
    $('#new-customer-create').addEventListener('click', () => addCustomer().catch(fail));
    $('#new-customer-name').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); addCustomer().catch(fail); }
    });
    $('#create-link-button').addEventListener('click', () => createLink().catch(fail));
    $('#link-select').addEventListener('change', (e) => { if (e.target.value) $('#link-input').value = e.target.value; });
    $('#enter-button').addEventListener('click', () => enter().catch(fail));
    for (const b of document.querySelectorAll('[data-advance]')) {
      b.addEventListener('click', () => api('POST', '/_kftest/clock', { advance_seconds: Number(b.dataset.advance) })
        .then(scheduleRefresh).catch(fail));
    }
    renderChrome();
    refresh().then(loadLinks);
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
