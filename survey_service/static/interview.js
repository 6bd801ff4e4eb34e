// The agent's "show the full number" button: an audited POST, then the number is shown.
// Loaded as a file (not inline) so that the Content-Security-Policy can forbid inline scripts.
document.addEventListener('DOMContentLoaded', () => {
  const button = document.getElementById('reveal');
  if (!button) { return; }
  button.addEventListener('click', async () => {
    const token = document.querySelector('input[name=csrf_token]').value;
    const r = await fetch(button.dataset.url, {method: 'POST', headers: {'X-CSRFToken': token}});
    if (r.ok) { document.getElementById('full-number').textContent = (await r.json()).number; }
  });
});
