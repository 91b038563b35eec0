// Typed hooks from the contract operations: variables and results are checked by the compiler.
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { AlertRaisedDocument, CreateReportDocument, MeDocument, ReportsDocument } from '../generated/graphql';

export function Dashboard() {
  const me = useQuery(MeDocument);
  const reports = useQuery(ReportsDocument, { variables: { first: 20 } });
  const [createReport, created] = useMutation(CreateReportDocument, { refetchQueries: [ReportsDocument], awaitRefetchQueries: true });
  const alerts = useSubscription(AlertRaisedDocument, { variables: { minSeverity: 'WARNING' } });

  const error = me.error ?? reports.error ?? created.error ?? alerts.error;
  if (error) return <p role="alert" className="error">{error.message}</p>;
  if (me.loading || reports.loading) return <p>Loading…</p>;
  const role: 'USER' | 'ANALYST' | 'ADMIN' | undefined = me.data?.me.role;
  return (
    <main>
      <h1>
        {me.data?.me.username} ({role})
      </h1>
      {alerts.data && <p className="live-alert">{alerts.data.alertRaised.message}</p>}
      <p className="total">{reports.data?.reports.totalCount} reports</p>
      <ul>
        {reports.data?.reports.edges.map(({ node }) => (
          <li key={node.id}>
            {node.title} by {node.author.username} · {node.tags.join(', ')}
          </li>
        ))}
      </ul>
      <button onClick={() => void createReport({ variables: { input: { title: 'New report', tags: ['draft'] } } })}>New report</button>
    </main>
  );
}
