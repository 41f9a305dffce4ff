-- An openai_compatible provider is no longer free by default: its base URL can be any
-- server, hosted APIs included, so a price of zero must be the operator's own choice
-- (PUT /admin/prices, or /admin/tenants/{id}/prices for one tenant's own servers).
-- The platform's compatible price starts at a small model's list price (gpt-4o-mini's);
-- a row the operator already changed from the seeded zeros is kept as it is.
UPDATE prices SET input_micros_per_million = 150000, cached_input_micros_per_million = 75000,
                  output_micros_per_million = 600000, reasoning_micros_per_million = 600000, updated_at = now()
WHERE provider_kind = 'openai_compatible' AND model = '*'
  AND input_micros_per_million = 0 AND cached_input_micros_per_million = 0 AND output_micros_per_million = 0
  AND reasoning_micros_per_million = 0 AND message_fee_micros = 0;
INSERT INTO prices (provider_kind, model, input_micros_per_million, cached_input_micros_per_million,
                    output_micros_per_million, reasoning_micros_per_million)
VALUES ('openai_compatible', '*', 150000, 75000, 600000, 600000)
ON CONFLICT (provider_kind, model) DO NOTHING;
