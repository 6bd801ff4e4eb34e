// The reviewer's page: "show the full number" for a call-back is an audited POST.
document.addEventListener('DOMContentLoaded', () => {
  const button = document.getElementById('reveal');
  if (!button) { return; }
  button.addEventListener('click', async () => {
    const token = document.querySelector('input[name=csrf_token]').value;
    const r = await fetch(button.dataset.url, {method: 'POST', headers: {'X-CSRFToken': token}});
    if (r.ok) { document.getElementById('full-number').textContent = (await r.json()).number; }
  });
});
