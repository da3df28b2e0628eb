import type { User as UserDto } from '@inbox-hub/client';
import { api, ApiError } from './api.js';
import { byId, formValues } from './dom.js';

/** Shows the login and register forms until one succeeds; the hub sets the session cookie. */
export function showAuth(onSignedIn: (user: UserDto) => void): void {
  const view = byId('auth-view');
  const error = byId('auth-error');
  view.hidden = false;
  error.textContent = '';
  const submit = (form: HTMLFormElement, run: (v: Record<string, string>) => Promise<{ user: UserDto }>) => {
    form.onsubmit = async (event) => {
      event.preventDefault();
      error.textContent = '';
      try {
        const { user } = await run(formValues(form));
        view.hidden = true;
        form.reset();
        onSignedIn(user);
      } catch (err) {
        error.textContent = err instanceof ApiError ? err.message : 'The hub did not answer; try again.';
      }
    };
  };
  submit(byId('login-form', HTMLFormElement), (v) => api.login({ email: v.email ?? '', password: v.password ?? '' }));
  submit(byId('register-form', HTMLFormElement), (v) =>
    api.register({ name: v.name ?? '', email: v.email ?? '', password: v.password ?? '' }),
  );
}
