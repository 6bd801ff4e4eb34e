// The agent's interview page. Loaded as a file (not inline) so that the
// Content-Security-Policy can forbid inline scripts.
// - "show the full number": an audited POST, then the number is shown;
// - keyboard: digits choose options, Enter confirms, Backspace goes back.
document.addEventListener('DOMContentLoaded', () => {
  const button = document.getElementById('reveal');
  if (button) {
    button.addEventListener('click', async () => {
      const token = document.querySelector('input[name=csrf_token]').value;
      const r = await fetch(button.dataset.url, {method: 'POST', headers: {'X-CSRFToken': token}});
      if (r.ok) { document.getElementById('full-number').textContent = (await r.json()).number; }
    });
  }

  const itemForm = document.getElementById('item-form');
  const backForm = document.getElementById('back-form');
  const submit = (form) => {
    if (form.dataset.sent) { return; }  // one submission per page
    if (!form.checkValidity()) { form.reportValidity(); return; }
    form.dataset.sent = '1';
    form.submit();
  };
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }
    const target = event.target;
    const tag = target.tagName;
    const inOther = target.closest && target.closest('#end-form, #callback-form');
    if (inOther) { return; }  // the outcome and callback forms keep their own keys
    if (tag === 'TEXTAREA' || (tag === 'INPUT' && target.type !== 'radio')) {
      if (event.key === 'Enter' && !event.shiftKey && itemForm && itemForm.contains(target)) {
        event.preventDefault();
        submit(itemForm);
      }
      return;  // typing in a field: digits and Backspace are text
    }
    if (tag === 'SELECT' || tag === 'BUTTON') {
      if (event.key !== 'Backspace') { return; }
    }
    if (/^[0-9]$/.test(event.key) && itemForm) {
      const radio = itemForm.querySelector(`input[type=radio][data-key="${event.key}"]`);
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        radio.focus();
      }
    } else if (event.key === 'Enter' && itemForm) {
      event.preventDefault();
      submit(itemForm);
    } else if (event.key === 'Backspace' && backForm) {
      event.preventDefault();
      submit(backForm);
    }
  });
  document.body.dataset.keys = 'ready';  // the shortcuts are live (tests wait for it)
});
