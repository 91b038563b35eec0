import type { GraphQLResponse } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';

/** How many refused document texts are remembered; the oldest is forgotten first. */
const REMEMBERED_REFUSALS = 1_000;
/** And how many characters of them in all: a document may be as large as MAX_BODY_BYTES. */
const REMEMBERED_CHARACTERS = 4 * 1024 * 1024;

/**
 * Documents parsing or validation refused, by their exact text, with the errors Apollo answered (formatted
 * and masked, without the request id). Apollo caches only documents that pass validation, so a
 * refused one would be parsed and validated again, with an Error and its stack trace per finding,
 * on every repeat: refusing cost five times what serving `Me` costs. The GraphQL route answers a
 * repeat from here, before Apollo runs. A document is refused for what it is (its text and the
 * schema), never for who sends it, so one answer fits every sender.
 */
export class RefusedDocuments {
  private readonly byText = new Map<string, readonly GraphQLFormattedError[]>();
  private characters = 0;

  /** The errors a document was refused with, if it was refused lately. */
  errorsFor(query: string): readonly GraphQLFormattedError[] | undefined {
    return this.byText.get(query);
  }

  /** Records what Apollo answered a document that failed parsing or validation (the only refusals kept). */
  remember(query: string | undefined, response: GraphQLResponse): void {
    if (query === undefined || response.body.kind !== 'single' || query.length > REMEMBERED_CHARACTERS || this.byText.has(query)) return;
    const errors = response.body.singleResult.errors;
    if (!errors?.length) return;
    while (this.byText.size >= REMEMBERED_REFUSALS || this.characters + query.length > REMEMBERED_CHARACTERS) {
      const oldest = this.byText.keys().next().value!;
      this.byText.delete(oldest);
      this.characters -= oldest.length;
    }
    this.byText.set(query, errors);
    this.characters += query.length;
  }
}
