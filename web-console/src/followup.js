// followup.js: on a phone or fax conversation, where nobody receives a public reply, the
// composer offers the ways that reach the customer: an email (a new email conversation to the
// customer's address, threaded to this one by its subject) or a callback task (a phone
// conversation tagged `callback`, routed like a missed call's).

function emailOf(c) {
  var ids = (c && c.identities) || [];
  for (var i = 0; i < ids.length; i++) if (ids[i].kind === 'email') return ids[i].raw || ids[i].value;
  return null;
}

function startFollowUp(conv, channel, subject, tags) {
  return api('POST', '/conversations', { customer_id: conv.customer_id, subject: subject, channel: channel, tags: tags || [] }).then(function (created) {
    toast(t(channel === 'email' ? 'followup.emailStarted' : 'followup.callbackStarted', { num: convNumber(created) }), 'info', { testid: 'followup-toast' });
    openConversation(created.id);
    return created;
  }, function (err) { toast(t('error.generic', { msg: errMsg(err) }), 'error'); });
}

function noReplyActions() {
  var conv = S.current;
  if (!conv) return null;
  var box = h('span', { class: 'followup-actions' });
  var callback = h('button', { type: 'button', class: 'btn small', 'data-testid': 'callback-task',
    onclick: function () { callback.disabled = true; startFollowUp(conv, 'phone', t('followup.callbackSubject', { num: convNumber(conv) }), ['callback']); } },
    t('followup.callback'));
  getCustomer(conv.customer_id).then(function (c) {
    var to = emailOf(c);
    if (!to || S.current !== conv) return;
    box.insertBefore(h('button', { type: 'button', class: 'btn small', 'data-testid': 'email-customer', title: to,
      onclick: function (e) { e.currentTarget.disabled = true; startFollowUp(conv, 'email', t('followup.emailSubject', { subject: conv.subject || '', num: convNumber(conv) })); } },
      t('followup.email', { to: to })), callback);
  });
  box.appendChild(callback);
  return box;
}
