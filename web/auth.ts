import type { User as UserDto } from '@inbox-hub/client';
import { api } from './api.js';
import { byId, formValues } from './dom.js';
import { humanError, type Action } from './errors.js';

/** Shows the login and register forms (as two tabs) until one succeeds; the hub sets the session cookie. */
export function showAuth(onSignedIn: (user: UserDto) => void): void {
  const view = byId('auth-view');
  const error = byId('auth-error');
  view.hidden = false;
  document.body.dataset.view = 'auth';
  error.textContent = '';
  const tabs = { login: byId('tab-login'), register: byId('tab-register') };
  const forms = { login: byId('login-form', HTMLFormElement), register: byId('register-form', HTMLFormElement) };
  const choose = (which: 'login' | 'register') => {
    for (const key of ['login', 'register'] as const) {
      tabs[key].setAttribute('aria-selected', String(key === which));
      tabs[key].tabIndex = key === which ? 0 : -1;
      forms[key].hidden = key !== which;
    }
    error.textContent = '';
  };
  tabs.login.onclick = () => choose('login');
  tabs.register.onclick = () => choose('register');
  byId('tablist').onkeydown = (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const next = tabs.login.getAttribute('aria-selected') === 'true' ? 'register' : 'login';
    choose(next);
    tabs[next].focus();
  };
  const submit = (form: HTMLFormElement, action: Action, run: (v: Record<string, string>) => Promise<{ user: UserDto }>) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.textContent = '';
      const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
      button.disabled = true;
      try {
        const { user } = await run(formValues(form));
        view.hidden = true;
        form.reset();
        onSignedIn(user);
      } catch (err) {
        error.textContent = humanError(err, action);
      } finally {
        button.disabled = false;
      }
    };
  };
  submit(forms.login, 'login', (v) => api.login({ email: v.email ?? '', password: v.password ?? '' }));
  submit(forms.register, 'register', (v) => api.register({ name: v.name ?? '', email: v.email ?? '', password: v.password ?? '' }));
}
