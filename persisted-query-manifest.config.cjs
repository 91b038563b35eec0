// Apollo's persisted-query manifest, generated from codegen's persisted documents (npm run codegen):
// each body is the document as Apollo Client 4 sends it (`__typename` added, definitions sorted), and
// each id is the sha256 of that body. TRUSTED_DOCUMENTS and the sample client both use this file.
const { fromGraphQLCodegenPersistedDocuments } = require('@apollo/generate-persisted-query-manifest');

module.exports = {
  documents: fromGraphQLCodegenPersistedDocuments('client/generated/persisted-documents.json'),
  output: 'client/generated/persisted-query-manifest.json',
};
