// Sign-in, then the dashboard. The access token lives in memory only (never in localStorage).
import { ApolloProvider, useMutation } from '@apollo/client/react';
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { LoginDocument } from '../generated/graphql';
import { createBastionClient } from './client';
import { Dashboard } from './Dashboard';

function SignIn({ onSignedIn }: { onSignedIn: (accessToken: string) => void }) {
  const [login, { loading, error }] = useMutation(LoginDocument);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = await login({ variables: { input: { login: String(form.get('login')), password: String(form.get('password')) } } });
    if (result.data) onSignedIn(result.data.login.accessToken);
  };
  return (
    <form onSubmit={(event) => void submit(event)}>
      <input name="login" aria-label="Login" autoComplete="username" />
      <input name="password" aria-label="Password" type="password" autoComplete="current-password" />
      <button type="submit" disabled={loading}>
        Sign in
      </button>
      {error && <p role="alert" className="error">{error.message}</p>}
    </form>
  );
}

export function App({ apiUrl }: { apiUrl: string }) {
  const token = useRef<string | undefined>(undefined);
  const [signedIn, setSignedIn] = useState(false);
  const client = useMemo(() => createBastionClient(apiUrl, () => token.current), [apiUrl]);
  const onSignedIn = (accessToken: string) => {
    token.current = accessToken;
    setSignedIn(true);
  };
  return <ApolloProvider client={client}>{signedIn ? <Dashboard /> : <SignIn onSignedIn={onSignedIn} />}</ApolloProvider>;
}
