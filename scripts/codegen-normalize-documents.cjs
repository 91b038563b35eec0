// Codegen document transform: the typed documents become the normalised form that the
// persisted-documents manifest prints (definitions and selections in codegen's order). The manifest
// text and the document Apollo Client sends are then the same document, so Apollo's manifest
// generator (npm run codegen) gives each operation the body and hash Apollo Client really sends.
const { parse } = require('graphql');
const { printExecutableGraphQLDocument } = require('@graphql-tools/documents');

exports.transform = ({ documents }) =>
  documents.map((file) => (file.document ? { ...file, document: parse(printExecutableGraphQLDocument(file.document)) } : file));
