-- ============================================================================
-- db/schema.sql: the PostgreSQL tables this service reads and writes.
--
-- FOR DEVELOPMENT AND TESTS ONLY.  The service serves an EXISTING production
-- database whose schema is owned by the Django application (passport-scorer,
-- api/*/migrations).  The service NEVER creates, alters or migrates tables in
-- production; this file only builds throw-away databases (tests/dbutil.py) and
-- local development databases.
--
-- Provenance
--   Derived mechanically, not written by hand, from
--   ../shared/reference/django_schema.sql: a schema-only pg_dump
--   (PostgreSQL 15.18) of an empty database after the full Django migration
--   history of passport-scorer commit caf2a966 (see reference/schema.md §0).
--   For each table below, the dump's own statements (CREATE TABLE, identity
--   column, PRIMARY KEY / UNIQUE constraints, FOREIGN KEYs, indexes) were
--   copied verbatim; only the "public." schema qualifier was removed (so the
--   file loads into the first schema on search_path) and the statements were
--   regrouped table by table.  Names, types, nullability, identity sequences,
--   constraint names, DEFERRABLE INITIALLY DEFERRED foreign keys, partial
--   predicates, operator classes (varchar_pattern_ops / text_pattern_ops)
--   and DESC keys are exactly as in the dump.  There are no CHECK constraints
--   and no column DEFAULTs on these tables in production (Django keeps
--   defaults in Python); do not add any here.
--
--   tests/test_schema.py checks the live catalog of a database built from
--   this file against tests/fixtures/production_catalog.json, which
--   scripts/dump_catalog.py generated from the reference dump.  If you edit
--   this file, that test tells you whether it still matches production.
--
-- Loading
--   Plain SQL only (no psql meta-commands, no SET, no OWNER TO), so it loads
--   with `psql -f` or a single cursor.execute() into an EMPTY database.
--   Tables are ordered so that every FOREIGN KEY target already exists
--   (grouped by Django app: auth, scorer_weighted, account, registry,
--   ceramic_cache, stake, cgrants).
--
-- Tables (44)
--   auth_user                         FK target of account_account.user_id
--   scorer_weighted_scorer, scorer_weighted_binaryweightedscorer,
--   scorer_weighted_weightedscorer
--   account_account, account_accountapikey, account_accountapikeyanalytics,
--   account_community, account_walletgroupcommunityclaim,
--   account_addresslist, account_addresslistmember, account_customization,
--   account_allowlist, account_customcredentialruleset,
--   account_customplatform, account_customcredential,
--   account_embedsectionheader, account_embedsectionorder,
--   account_embedstampplatform (the embed widget's stamp sections), and
--   registry_platformmetadata (their FK target)
--   registry_passport, registry_stamp, registry_score, registry_event,
--   registry_hashscorerlink, registry_humanpoints,
--   registry_humanpointscommunityqualifiedusers, registry_humanpointsconfig,
--   registry_humanpointsmultiplier, registry_gtcstakeevent
--   ceramic_cache_ceramiccache, ceramic_cache_revocationlist,
--   ceramic_cache_revocation, ceramic_cache_banlist, ceramic_cache_ban
--   stake_stake
--   cgrants_profile, cgrants_grant, cgrants_subscription   (FK targets only)
--   cgrants_contribution, cgrants_grantcontributionindex,
--   cgrants_protocolcontributions, cgrants_squelchedaccounts,
--   cgrants_roundmapping
--
--   FK closure: every foreign key of these tables points at a table in this
--   list, so no extra table had to be added.  The FK-only targets
--   (auth_user for account_account; cgrants_profile, cgrants_grant and
--   cgrants_subscription for cgrants_contribution/_grantcontributionindex)
--   are already included.  registry_gtcstakeevent and stake_stake have no
--   foreign keys.  Tables that reference these ones (auth_user_groups,
--   passport_admin_notification, registry_weightconfigurationitem, ...) are
--   deliberately absent: the service does not touch them.
--
-- Seed data
--   None.  The reference dump is schema-only (it contains no COPY/INSERT at
--   all, not even for django_migrations).  Note that a real production
--   database DOES contain the registry_humanpointsconfig rows seeded by
--   registry migration 0050 (SCB 500, HKY 100, ISB 100, ISS 200, ISG 500,
--   CSB 100, CSE 200, CST 500, PMT 300, HIM 1000, all active; see
--   reference/schema.md §3.14).  Tests that need them must insert them.
--
-- Objects that do not follow Django's generated-name pattern (created by
-- Meta.indexes/constraints with explicit names, or by RunSQL migrations):
--   account_community:          unique_non_deleted_name_per_account (partial
--                               UNIQUE INDEX, WHERE deleted_at IS NULL),
--                               unique_deleted_name_per_account (partial,
--                               WHERE deleted_at IS NOT NULL)
--   registry_event:             score_history_index
--   registry_humanpoints:       unique_human_points_constraint (UNIQUE
--                               constraint), registry_hu_address_5fea1a_idx,
--                               registry_hu_chain_i_646b64_idx
--   registry_humanpointscommunityqualifiedusers: registry_hu_address_0abb23_idx
--   registry_humanpointsconfig: registry_hu_action_230641_idx
--   registry_gtcstakeevent:     gtc_staking_index, gtc_staking_index_by_staker
--   ceramic_cache_ceramiccache: unique_non_deleted_provider_for_address and
--                               unique_deleted_provider_for_address (partial
--                               UNIQUE INDEXes), idx_cc_addr_id_not_deleted
--                               (RunSQL only: (address, id DESC) WHERE
--                               deleted_at IS NULL)
-- ============================================================================

-- --------------------------------------------------------------------------
-- auth_user
-- --------------------------------------------------------------------------

CREATE TABLE auth_user (
    id integer NOT NULL,
    password character varying(128) NOT NULL,
    last_login timestamp with time zone,
    is_superuser boolean NOT NULL,
    username character varying(150) NOT NULL,
    first_name character varying(150) NOT NULL,
    last_name character varying(150) NOT NULL,
    email character varying(254) NOT NULL,
    is_staff boolean NOT NULL,
    is_active boolean NOT NULL,
    date_joined timestamp with time zone NOT NULL
);

ALTER TABLE auth_user ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME auth_user_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY auth_user
    ADD CONSTRAINT auth_user_pkey PRIMARY KEY (id);

ALTER TABLE ONLY auth_user
    ADD CONSTRAINT auth_user_username_key UNIQUE (username);

CREATE INDEX auth_user_username_6821ab7c_like ON auth_user USING btree (username varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- scorer_weighted_scorer
-- --------------------------------------------------------------------------

CREATE TABLE scorer_weighted_scorer (
    id bigint NOT NULL,
    type character varying(100) NOT NULL,
    exclude_from_weight_updates boolean NOT NULL
);

ALTER TABLE scorer_weighted_scorer ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME scorer_weighted_scorer_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY scorer_weighted_scorer
    ADD CONSTRAINT scorer_weighted_scorer_pkey PRIMARY KEY (id);


-- --------------------------------------------------------------------------
-- scorer_weighted_binaryweightedscorer
-- --------------------------------------------------------------------------

CREATE TABLE scorer_weighted_binaryweightedscorer (
    scorer_ptr_id bigint NOT NULL,
    weights jsonb,
    threshold numeric(10,5) NOT NULL
);

ALTER TABLE ONLY scorer_weighted_binaryweightedscorer
    ADD CONSTRAINT scorer_weighted_binaryweightedscorer_pkey PRIMARY KEY (scorer_ptr_id);

ALTER TABLE ONLY scorer_weighted_binaryweightedscorer
    ADD CONSTRAINT scorer_weighted_bina_scorer_ptr_id_12e4494a_fk_scorer_we FOREIGN KEY (scorer_ptr_id) REFERENCES scorer_weighted_scorer(id) DEFERRABLE INITIALLY DEFERRED;


-- --------------------------------------------------------------------------
-- scorer_weighted_weightedscorer
-- --------------------------------------------------------------------------

CREATE TABLE scorer_weighted_weightedscorer (
    scorer_ptr_id bigint NOT NULL,
    weights jsonb,
    threshold numeric(10,5) NOT NULL
);

ALTER TABLE ONLY scorer_weighted_weightedscorer
    ADD CONSTRAINT scorer_weighted_weightedscorer_pkey PRIMARY KEY (scorer_ptr_id);

ALTER TABLE ONLY scorer_weighted_weightedscorer
    ADD CONSTRAINT scorer_weighted_weig_scorer_ptr_id_fd2d9079_fk_scorer_we FOREIGN KEY (scorer_ptr_id) REFERENCES scorer_weighted_scorer(id) DEFERRABLE INITIALLY DEFERRED;


-- --------------------------------------------------------------------------
-- account_account
-- --------------------------------------------------------------------------

CREATE TABLE account_account (
    id bigint NOT NULL,
    address character varying(100) NOT NULL,
    user_id integer NOT NULL
);

ALTER TABLE account_account ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_account_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_account
    ADD CONSTRAINT account_account_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_account
    ADD CONSTRAINT account_account_user_id_key UNIQUE (user_id);

ALTER TABLE ONLY account_account
    ADD CONSTRAINT account_account_user_id_8d4f4816_fk_auth_user_id FOREIGN KEY (user_id) REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_account_address_c4b1bb22 ON account_account USING btree (address);
CREATE INDEX account_account_address_c4b1bb22_like ON account_account USING btree (address varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_accountapikey
-- --------------------------------------------------------------------------

CREATE TABLE account_accountapikey (
    id character varying(150) NOT NULL,
    prefix character varying(8) NOT NULL,
    hashed_key character varying(150) NOT NULL,
    created timestamp with time zone NOT NULL,
    name character varying(50) NOT NULL,
    revoked boolean NOT NULL,
    expiry_date timestamp with time zone,
    account_id bigint NOT NULL,
    rate_limit character varying(20),
    create_scorers boolean NOT NULL,
    read_scores boolean NOT NULL,
    submit_passports boolean NOT NULL,
    analysis_rate_limit character varying(20),
    historical_endpoint boolean NOT NULL,
    embed_rate_limit character varying(20),
    hashed_key_sha256 character varying(71)
);

ALTER TABLE ONLY account_accountapikey
    ADD CONSTRAINT account_accountapikey_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_accountapikey
    ADD CONSTRAINT account_accountapikey_prefix_key UNIQUE (prefix);

ALTER TABLE ONLY account_accountapikey
    ADD CONSTRAINT account_accountapikey_account_id_1a2556bc_fk_account_account_id FOREIGN KEY (account_id) REFERENCES account_account(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_accountapikey_account_id_1a2556bc ON account_accountapikey USING btree (account_id);
CREATE INDEX account_accountapikey_created_e745f4b8 ON account_accountapikey USING btree (created);
CREATE INDEX account_accountapikey_id_e59c877a_like ON account_accountapikey USING btree (id varchar_pattern_ops);
CREATE INDEX account_accountapikey_prefix_c5b7b286_like ON account_accountapikey USING btree (prefix varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_accountapikeyanalytics
-- --------------------------------------------------------------------------

CREATE TABLE account_accountapikeyanalytics (
    id bigint NOT NULL,
    created_at timestamp with time zone,
    path character varying(1000) NOT NULL,
    api_key_id character varying(150) NOT NULL,
    base_path character varying(200),
    error text,
    headers jsonb,
    path_segments jsonb,
    payload jsonb,
    query_params jsonb,
    response jsonb,
    response_skipped boolean,
    status_code integer
);

ALTER TABLE account_accountapikeyanalytics ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_accountapikeyanalytics_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_accountapikeyanalytics
    ADD CONSTRAINT account_accountapikeyanalytics_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_accountapikeyanalytics
    ADD CONSTRAINT account_accountapike_api_key_id_f30ca19e_fk_account_a FOREIGN KEY (api_key_id) REFERENCES account_accountapikey(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_accountapikeyanalytics_api_key_id_f30ca19e ON account_accountapikeyanalytics USING btree (api_key_id);
CREATE INDEX account_accountapikeyanalytics_api_key_id_f30ca19e_like ON account_accountapikeyanalytics USING btree (api_key_id varchar_pattern_ops);
CREATE INDEX account_accountapikeyanalytics_base_path_c10e92ca ON account_accountapikeyanalytics USING btree (base_path);
CREATE INDEX account_accountapikeyanalytics_base_path_c10e92ca_like ON account_accountapikeyanalytics USING btree (base_path varchar_pattern_ops);
CREATE INDEX account_accountapikeyanalytics_created_at_9d239fa0 ON account_accountapikeyanalytics USING btree (created_at);
CREATE INDEX account_accountapikeyanalytics_error_0791c82e ON account_accountapikeyanalytics USING btree (error);
CREATE INDEX account_accountapikeyanalytics_error_0791c82e_like ON account_accountapikeyanalytics USING btree (error text_pattern_ops);
CREATE INDEX account_accountapikeyanalytics_path_segments_83f45e13 ON account_accountapikeyanalytics USING btree (path_segments);
CREATE INDEX account_accountapikeyanalytics_payload_93057d53 ON account_accountapikeyanalytics USING btree (payload);
CREATE INDEX account_accountapikeyanalytics_query_params_3fb7d0fb ON account_accountapikeyanalytics USING btree (query_params);
CREATE INDEX account_accountapikeyanalytics_response_skipped_6bd76337 ON account_accountapikeyanalytics USING btree (response_skipped);
CREATE INDEX account_accountapikeyanalytics_status_code_4c74877c ON account_accountapikeyanalytics USING btree (status_code);


-- --------------------------------------------------------------------------
-- account_community
-- --------------------------------------------------------------------------

CREATE TABLE account_community (
    id bigint NOT NULL,
    name character varying(100) NOT NULL,
    description character varying(100) NOT NULL,
    account_id bigint NOT NULL,
    scorer_id bigint NOT NULL,
    created_at timestamp with time zone,
    rule character varying(100) NOT NULL,
    use_case character varying(100),
    deleted_at timestamp with time zone,
    external_scorer_id character varying(42),
    human_points_program boolean NOT NULL
);

ALTER TABLE account_community ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_community_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_community
    ADD CONSTRAINT account_community_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_community
    ADD CONSTRAINT account_community_external_scorer_id_key UNIQUE (external_scorer_id);

ALTER TABLE ONLY account_community
    ADD CONSTRAINT account_community_account_id_56b17acb_fk_account_account_id FOREIGN KEY (account_id) REFERENCES account_account(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_community
    ADD CONSTRAINT account_community_scorer_id_fdb68128_fk_scorer_we FOREIGN KEY (scorer_id) REFERENCES scorer_weighted_scorer(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_community_account_id_56b17acb ON account_community USING btree (account_id);
CREATE INDEX account_community_external_scorer_id_548ec701_like ON account_community USING btree (external_scorer_id varchar_pattern_ops);
CREATE INDEX account_community_scorer_id_fdb68128 ON account_community USING btree (scorer_id);
CREATE UNIQUE INDEX unique_deleted_name_per_account ON account_community USING btree (account_id, name, deleted_at) WHERE (deleted_at IS NOT NULL);
CREATE UNIQUE INDEX unique_non_deleted_name_per_account ON account_community USING btree (account_id, name) WHERE (deleted_at IS NULL);


-- --------------------------------------------------------------------------
-- account_walletgroupcommunityclaim
-- --------------------------------------------------------------------------

CREATE TABLE account_walletgroupcommunityclaim (
    id bigint NOT NULL,
    group_key text NOT NULL,
    canonical_address character varying(42) NOT NULL,
    claimed_at timestamp with time zone NOT NULL,
    community_id bigint NOT NULL
);

ALTER TABLE account_walletgroupcommunityclaim ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_walletgroupcommunityclaim_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_walletgroupcommunityclaim
    ADD CONSTRAINT account_walletgroupcommunityclaim_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_walletgroupcommunityclaim
    ADD CONSTRAINT account_walletgroupcommu_group_key_community_id_60ec33ad_uniq UNIQUE (group_key, community_id);

ALTER TABLE ONLY account_walletgroupcommunityclaim
    ADD CONSTRAINT account_walletgroupc_community_id_d82acae6_fk_account_c FOREIGN KEY (community_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_walletgroupcommu_canonical_address_0507e7f5_like ON account_walletgroupcommunityclaim USING btree (canonical_address varchar_pattern_ops);
CREATE INDEX account_walletgroupcommunityclaim_canonical_address_0507e7f5 ON account_walletgroupcommunityclaim USING btree (canonical_address);
CREATE INDEX account_walletgroupcommunityclaim_community_id_d82acae6 ON account_walletgroupcommunityclaim USING btree (community_id);


-- --------------------------------------------------------------------------
-- account_addresslist
-- --------------------------------------------------------------------------

CREATE TABLE account_addresslist (
    id bigint NOT NULL,
    name character varying(100) NOT NULL
);

ALTER TABLE account_addresslist ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_addresslist_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_addresslist
    ADD CONSTRAINT account_addresslist_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_addresslist
    ADD CONSTRAINT account_addresslist_name_key UNIQUE (name);

CREATE INDEX account_addresslist_name_141d0b06_like ON account_addresslist USING btree (name varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_addresslistmember
-- --------------------------------------------------------------------------

CREATE TABLE account_addresslistmember (
    id bigint NOT NULL,
    address character varying(100) NOT NULL,
    list_id bigint NOT NULL
);

ALTER TABLE account_addresslistmember ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_addresslistmember_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_addresslistmember
    ADD CONSTRAINT account_addresslistmember_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_addresslistmember
    ADD CONSTRAINT account_addresslistmember_address_list_id_671a99b1_uniq UNIQUE (address, list_id);

ALTER TABLE ONLY account_addresslistmember
    ADD CONSTRAINT account_addresslistm_list_id_e4f611a5_fk_account_a FOREIGN KEY (list_id) REFERENCES account_addresslist(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_addresslistmember_address_eaaf8d99 ON account_addresslistmember USING btree (address);
CREATE INDEX account_addresslistmember_address_eaaf8d99_like ON account_addresslistmember USING btree (address varchar_pattern_ops);
CREATE INDEX account_addresslistmember_list_id_e4f611a5 ON account_addresslistmember USING btree (list_id);


-- --------------------------------------------------------------------------
-- account_customization
-- --------------------------------------------------------------------------

CREATE TABLE account_customization (
    id bigint NOT NULL,
    path character varying(100) NOT NULL,
    customization_background_1 character varying(7),
    customization_background_2 character varying(7),
    customization_foreground_1 character varying(7),
    logo_image text,
    logo_caption text,
    logo_background character varying(10),
    body_main_text text,
    body_sub_text text,
    body_action_text text,
    body_action_url character varying(200),
    scorer_id bigint NOT NULL,
    use_custom_dashboard_panel boolean NOT NULL,
    scorer_panel_title character varying(100),
    scorer_panel_text text,
    body_display_info_tooltip boolean NOT NULL,
    body_info_tooltip_text text,
    button_action_type character varying(25) NOT NULL,
    customization_background_3 character varying(7),
    customization_foreground_2 character varying(7),
    show_explanation_panel boolean NOT NULL,
    partner_name character varying(100) NOT NULL,
    custom_dashboard_panel_title character varying(255),
    nav_logo text,
    nav_order integer NOT NULL,
    show_in_top_nav boolean NOT NULL
);

ALTER TABLE account_customization ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_customization_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_customization
    ADD CONSTRAINT account_customization_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_customization
    ADD CONSTRAINT account_customization_path_key UNIQUE (path);

ALTER TABLE ONLY account_customization
    ADD CONSTRAINT account_customization_scorer_id_354f8a7d_uniq UNIQUE (scorer_id);

ALTER TABLE ONLY account_customization
    ADD CONSTRAINT account_customizatio_scorer_id_354f8a7d_fk_account_c FOREIGN KEY (scorer_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_customization_path_dfcf319d_like ON account_customization USING btree (path varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_allowlist
-- --------------------------------------------------------------------------

CREATE TABLE account_allowlist (
    id bigint NOT NULL,
    weight numeric(7,4) NOT NULL,
    address_list_id bigint NOT NULL,
    customization_id bigint NOT NULL
);

ALTER TABLE account_allowlist ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_allowlist_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_allowlist
    ADD CONSTRAINT account_allowlist_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_allowlist
    ADD CONSTRAINT account_allowlist_address_list_id_2e8eb2ee_fk_account_a FOREIGN KEY (address_list_id) REFERENCES account_addresslist(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_allowlist
    ADD CONSTRAINT account_allowlist_customization_id_28db4778_fk_account_c FOREIGN KEY (customization_id) REFERENCES account_customization(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_allowlist_address_list_id_2e8eb2ee ON account_allowlist USING btree (address_list_id);
CREATE INDEX account_allowlist_customization_id_28db4778 ON account_allowlist USING btree (customization_id);


-- --------------------------------------------------------------------------
-- account_customcredentialruleset
-- --------------------------------------------------------------------------

CREATE TABLE account_customcredentialruleset (
    id bigint NOT NULL,
    credential_type character varying(5) NOT NULL,
    definition jsonb NOT NULL,
    name character varying(64) NOT NULL,
    provider_id character varying(256) NOT NULL
);

ALTER TABLE account_customcredentialruleset ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_customcredentialruleset_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_customcredentialruleset
    ADD CONSTRAINT account_customcredentialruleset_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_customcredentialruleset
    ADD CONSTRAINT account_customcredentialruleset_provider_id_key UNIQUE (provider_id);

CREATE INDEX account_customcredentialruleset_provider_id_f1bc1925_like ON account_customcredentialruleset USING btree (provider_id varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_customplatform
-- --------------------------------------------------------------------------

CREATE TABLE account_customplatform (
    id bigint NOT NULL,
    platform_type character varying(5) NOT NULL,
    name character varying(64) NOT NULL,
    display_name character varying(64),
    icon_url character varying(64),
    description character varying(256),
    banner_heading character varying(64),
    banner_content character varying(256),
    banner_cta_text character varying(256),
    banner_cta_url character varying(256),
    is_evm boolean NOT NULL
);

ALTER TABLE account_customplatform ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_customplatform_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_customplatform
    ADD CONSTRAINT account_customplatform_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_customplatform
    ADD CONSTRAINT account_customplatform_name_key UNIQUE (name);

CREATE INDEX account_customplatform_name_f88110ba_like ON account_customplatform USING btree (name varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_customcredential
-- --------------------------------------------------------------------------

CREATE TABLE account_customcredential (
    id bigint NOT NULL,
    weight numeric(7,4) NOT NULL,
    display_name character varying(64) NOT NULL,
    description character varying(256),
    customization_id bigint NOT NULL,
    platform_id bigint NOT NULL,
    ruleset_id bigint NOT NULL
);

ALTER TABLE account_customcredential ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_customcredential_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_customcredential
    ADD CONSTRAINT account_customcredential_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_customcredential
    ADD CONSTRAINT account_customcreden_customization_id_9f3ca665_fk_account_c FOREIGN KEY (customization_id) REFERENCES account_customization(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_customcredential
    ADD CONSTRAINT account_customcreden_platform_id_a560e785_fk_account_c FOREIGN KEY (platform_id) REFERENCES account_customplatform(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_customcredential
    ADD CONSTRAINT account_customcreden_ruleset_id_379112c2_fk_account_c FOREIGN KEY (ruleset_id) REFERENCES account_customcredentialruleset(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_customcredential_customization_id_9f3ca665 ON account_customcredential USING btree (customization_id);
CREATE INDEX account_customcredential_platform_id_a560e785 ON account_customcredential USING btree (platform_id);
CREATE INDEX account_customcredential_ruleset_id_379112c2 ON account_customcredential USING btree (ruleset_id);


-- --------------------------------------------------------------------------
-- registry_platformmetadata  (here, ahead of the registry tables: an FK target
-- of account_embedstampplatform)
-- --------------------------------------------------------------------------

CREATE TABLE registry_platformmetadata (
    id bigint NOT NULL,
    platform_id character varying(100) NOT NULL,
    name character varying(255) NOT NULL
);

ALTER TABLE registry_platformmetadata ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_platformmetadata_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_platformmetadata
    ADD CONSTRAINT registry_platformmetadata_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_platformmetadata
    ADD CONSTRAINT registry_platformmetadata_platform_id_key UNIQUE (platform_id);

CREATE INDEX registry_platformmetadata_platform_id_4cfe4071_like ON registry_platformmetadata USING btree (platform_id varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_embedsectionheader
-- --------------------------------------------------------------------------

CREATE TABLE account_embedsectionheader (
    id bigint NOT NULL,
    name character varying(255) NOT NULL
);

ALTER TABLE account_embedsectionheader ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_embedsectionheader_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_embedsectionheader
    ADD CONSTRAINT account_embedsectionheader_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_embedsectionheader
    ADD CONSTRAINT account_embedsectionheader_name_key UNIQUE (name);

CREATE INDEX account_embedsectionheader_name_c8e8ed60_like ON account_embedsectionheader USING btree (name varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- account_embedsectionorder
-- --------------------------------------------------------------------------

CREATE TABLE account_embedsectionorder (
    id bigint NOT NULL,
    "order" integer NOT NULL,
    customization_id bigint NOT NULL,
    section_id bigint NOT NULL
);

ALTER TABLE account_embedsectionorder ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_embedsectionorder_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_embedsectionorder
    ADD CONSTRAINT account_embedsectionorder_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_embedsectionorder
    ADD CONSTRAINT account_embedsectionorde_customization_id_section_2eab805a_uniq UNIQUE (customization_id, section_id);

ALTER TABLE ONLY account_embedsectionorder
    ADD CONSTRAINT account_embedsection_customization_id_09f8ae57_fk_account_c FOREIGN KEY (customization_id) REFERENCES account_customization(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_embedsectionorder
    ADD CONSTRAINT account_embedsectionorder_section_id_840109b0_fk FOREIGN KEY (section_id) REFERENCES account_embedsectionheader(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_embedsectionorder_customization_id_09f8ae57 ON account_embedsectionorder USING btree (customization_id);
CREATE INDEX account_embedsectionorder_section_id_840109b0 ON account_embedsectionorder USING btree (section_id);


-- --------------------------------------------------------------------------
-- account_embedstampplatform
-- --------------------------------------------------------------------------

CREATE TABLE account_embedstampplatform (
    id bigint NOT NULL,
    "order" integer NOT NULL,
    customization_id bigint NOT NULL,
    section_id bigint NOT NULL,
    platform_id bigint NOT NULL
);

ALTER TABLE account_embedstampplatform ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME account_embedstampplatform_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY account_embedstampplatform
    ADD CONSTRAINT account_embedstampplatform_pkey PRIMARY KEY (id);

ALTER TABLE ONLY account_embedstampplatform
    ADD CONSTRAINT account_embedstampplatfo_customization_id_platfor_478f90b6_uniq UNIQUE (customization_id, platform_id);

ALTER TABLE ONLY account_embedstampplatform
    ADD CONSTRAINT account_embedstamppl_customization_id_6b544d49_fk_account_c FOREIGN KEY (customization_id) REFERENCES account_customization(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_embedstampplatform
    ADD CONSTRAINT account_embedstamppl_platform_id_8ee80cb9_fk_registry_ FOREIGN KEY (platform_id) REFERENCES registry_platformmetadata(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY account_embedstampplatform
    ADD CONSTRAINT account_embedstampplatform_section_id_3c4418f0_fk FOREIGN KEY (section_id) REFERENCES account_embedsectionheader(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX account_embedstampplatform_customization_id_6b544d49 ON account_embedstampplatform USING btree (customization_id);
CREATE INDEX account_embedstampplatform_platform_id_8ee80cb9 ON account_embedstampplatform USING btree (platform_id);
CREATE INDEX account_embedstampplatform_section_id_3c4418f0 ON account_embedstampplatform USING btree (section_id);


-- --------------------------------------------------------------------------
-- registry_passport
-- --------------------------------------------------------------------------

CREATE TABLE registry_passport (
    id bigint NOT NULL,
    community_id bigint,
    address character varying(100),
    requires_calculation boolean
);

ALTER TABLE registry_passport ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_passport_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_passport
    ADD CONSTRAINT registry_passport_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_passport
    ADD CONSTRAINT registry_passport_address_community_id_14f7b36b_uniq UNIQUE (address, community_id);

ALTER TABLE ONLY registry_passport
    ADD CONSTRAINT registry_passport_community_id_1524ae17_fk_account_community_id FOREIGN KEY (community_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_passport_address_fb3975f7 ON registry_passport USING btree (address);
CREATE INDEX registry_passport_address_fb3975f7_like ON registry_passport USING btree (address varchar_pattern_ops);
CREATE INDEX registry_passport_community_id_1524ae17 ON registry_passport USING btree (community_id);


-- --------------------------------------------------------------------------
-- registry_stamp
-- --------------------------------------------------------------------------

CREATE TABLE registry_stamp (
    id bigint NOT NULL,
    provider character varying(256) NOT NULL,
    credential jsonb NOT NULL,
    passport_id bigint
);

ALTER TABLE registry_stamp ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_stamp_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_stamp
    ADD CONSTRAINT registry_stamp_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_stamp
    ADD CONSTRAINT registry_stamp_passport_id_a0a2c334_fk_registry_passport_id FOREIGN KEY (passport_id) REFERENCES registry_passport(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_stamp_passport_id_a0a2c334 ON registry_stamp USING btree (passport_id);
CREATE INDEX registry_stamp_provider_096281ff ON registry_stamp USING btree (provider);
CREATE INDEX registry_stamp_provider_096281ff_like ON registry_stamp USING btree (provider varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- registry_score
-- --------------------------------------------------------------------------

CREATE TABLE registry_score (
    id bigint NOT NULL,
    score numeric(18,9),
    passport_id bigint NOT NULL,
    error text,
    last_score_timestamp timestamp with time zone,
    status character varying(20),
    evidence jsonb,
    stamp_scores jsonb,
    expiration_date timestamp with time zone,
    stamps jsonb
);

ALTER TABLE registry_score ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_score_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_score
    ADD CONSTRAINT registry_score_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_score
    ADD CONSTRAINT registry_score_passport_id_640e4835_uniq UNIQUE (passport_id);

ALTER TABLE ONLY registry_score
    ADD CONSTRAINT registry_score_passport_id_640e4835_fk_registry_passport_id FOREIGN KEY (passport_id) REFERENCES registry_passport(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_score_expiration_date_a46277c6 ON registry_score USING btree (expiration_date);
CREATE INDEX registry_score_last_score_timestamp_dcdec469 ON registry_score USING btree (last_score_timestamp);
CREATE INDEX registry_score_status_4f7843c9 ON registry_score USING btree (status);
CREATE INDEX registry_score_status_4f7843c9_like ON registry_score USING btree (status varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- registry_event
-- --------------------------------------------------------------------------

CREATE TABLE registry_event (
    id bigint NOT NULL,
    action character varying(3) NOT NULL,
    address character varying(42) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    data jsonb NOT NULL,
    community_id bigint
);

ALTER TABLE registry_event ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_event_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_event
    ADD CONSTRAINT registry_event_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_event
    ADD CONSTRAINT registry_event_community_id_83e82610_fk_account_community_id FOREIGN KEY (community_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_event_community_id_83e82610 ON registry_event USING btree (community_id);
CREATE INDEX score_history_index ON registry_event USING btree (action, address, community_id, created_at);


-- --------------------------------------------------------------------------
-- registry_hashscorerlink
-- --------------------------------------------------------------------------

CREATE TABLE registry_hashscorerlink (
    id bigint NOT NULL,
    hash character varying(100) NOT NULL,
    address character varying(42) NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    community_id bigint NOT NULL
);

ALTER TABLE registry_hashscorerlink ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_hashscorerlink_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_hashscorerlink
    ADD CONSTRAINT registry_hashscorerlink_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_hashscorerlink
    ADD CONSTRAINT registry_hashscorerlink_hash_community_id_ea7e08a6_uniq UNIQUE (hash, community_id);

ALTER TABLE ONLY registry_hashscorerlink
    ADD CONSTRAINT registry_hashscorerl_community_id_464dfa88_fk_account_c FOREIGN KEY (community_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_hashscorerlink_address_b3ffe97e ON registry_hashscorerlink USING btree (address);
CREATE INDEX registry_hashscorerlink_address_b3ffe97e_like ON registry_hashscorerlink USING btree (address varchar_pattern_ops);
CREATE INDEX registry_hashscorerlink_community_id_464dfa88 ON registry_hashscorerlink USING btree (community_id);
CREATE INDEX registry_hashscorerlink_expires_at_660d8ce1 ON registry_hashscorerlink USING btree (expires_at);
CREATE INDEX registry_hashscorerlink_hash_6798c065 ON registry_hashscorerlink USING btree (hash);
CREATE INDEX registry_hashscorerlink_hash_6798c065_like ON registry_hashscorerlink USING btree (hash varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- registry_humanpoints
-- --------------------------------------------------------------------------

CREATE TABLE registry_humanpoints (
    id bigint NOT NULL,
    address character varying(42) NOT NULL,
    action character varying(3) NOT NULL,
    "timestamp" timestamp with time zone NOT NULL,
    tx_hash character varying(100) NOT NULL,
    chain_id integer NOT NULL,
    provider character varying(100) NOT NULL
);

ALTER TABLE registry_humanpoints ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_humanpoints_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_humanpoints
    ADD CONSTRAINT registry_humanpoints_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_humanpoints
    ADD CONSTRAINT unique_human_points_constraint UNIQUE (address, action, chain_id, provider, tx_hash);

CREATE INDEX registry_hu_address_5fea1a_idx ON registry_humanpoints USING btree (address, action);
CREATE INDEX registry_hu_chain_i_646b64_idx ON registry_humanpoints USING btree (chain_id, action);
CREATE INDEX registry_humanpoints_action_2af7c950 ON registry_humanpoints USING btree (action);
CREATE INDEX registry_humanpoints_action_2af7c950_like ON registry_humanpoints USING btree (action varchar_pattern_ops);
CREATE INDEX registry_humanpoints_address_2575ffb6 ON registry_humanpoints USING btree (address);
CREATE INDEX registry_humanpoints_address_2575ffb6_like ON registry_humanpoints USING btree (address varchar_pattern_ops);
CREATE INDEX registry_humanpoints_chain_id_a61cab3f ON registry_humanpoints USING btree (chain_id);
CREATE INDEX registry_humanpoints_provider_140cbcda ON registry_humanpoints USING btree (provider);
CREATE INDEX registry_humanpoints_provider_140cbcda_like ON registry_humanpoints USING btree (provider varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- registry_humanpointscommunityqualifiedusers
-- --------------------------------------------------------------------------

CREATE TABLE registry_humanpointscommunityqualifiedusers (
    id bigint NOT NULL,
    address character varying(42) NOT NULL,
    community_id bigint NOT NULL
);

ALTER TABLE registry_humanpointscommunityqualifiedusers ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_humanpointscommunityqualifiedusers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_humanpointscommunityqualifiedusers
    ADD CONSTRAINT registry_humanpointscommunityqualifiedusers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_humanpointscommunityqualifiedusers
    ADD CONSTRAINT registry_humanpointscomm_address_community_id_a9e351f4_uniq UNIQUE (address, community_id);

ALTER TABLE ONLY registry_humanpointscommunityqualifiedusers
    ADD CONSTRAINT registry_humanpoints_community_id_ae641a3f_fk_account_c FOREIGN KEY (community_id) REFERENCES account_community(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX registry_hu_address_0abb23_idx ON registry_humanpointscommunityqualifiedusers USING btree (address);
CREATE INDEX registry_humanpointscomm_address_a7e51a30_like ON registry_humanpointscommunityqualifiedusers USING btree (address varchar_pattern_ops);
CREATE INDEX registry_humanpointscommun_community_id_ae641a3f ON registry_humanpointscommunityqualifiedusers USING btree (community_id);
CREATE INDEX registry_humanpointscommunityqualifiedusers_address_a7e51a30 ON registry_humanpointscommunityqualifiedusers USING btree (address);


-- --------------------------------------------------------------------------
-- registry_humanpointsconfig
-- --------------------------------------------------------------------------

CREATE TABLE registry_humanpointsconfig (
    id bigint NOT NULL,
    action character varying(3) NOT NULL,
    points integer NOT NULL,
    active boolean NOT NULL
);

ALTER TABLE registry_humanpointsconfig ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_humanpointsconfig_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_humanpointsconfig
    ADD CONSTRAINT registry_humanpointsconfig_pkey PRIMARY KEY (id);

ALTER TABLE ONLY registry_humanpointsconfig
    ADD CONSTRAINT registry_humanpointsconfig_action_key UNIQUE (action);

CREATE INDEX registry_hu_action_230641_idx ON registry_humanpointsconfig USING btree (action, active);
CREATE INDEX registry_humanpointsconfig_action_2c596373_like ON registry_humanpointsconfig USING btree (action varchar_pattern_ops);
CREATE INDEX registry_humanpointsconfig_active_0d54ac09 ON registry_humanpointsconfig USING btree (active);


-- --------------------------------------------------------------------------
-- registry_humanpointsmultiplier
-- --------------------------------------------------------------------------

CREATE TABLE registry_humanpointsmultiplier (
    address character varying(42) NOT NULL,
    multiplier integer NOT NULL
);

ALTER TABLE ONLY registry_humanpointsmultiplier
    ADD CONSTRAINT registry_humanpointsmultiplier_pkey PRIMARY KEY (address);

CREATE INDEX registry_humanpointsmultiplier_address_a5b03f79_like ON registry_humanpointsmultiplier USING btree (address varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- registry_gtcstakeevent
-- --------------------------------------------------------------------------

CREATE TABLE registry_gtcstakeevent (
    id bigint NOT NULL,
    event_type character varying(15) NOT NULL,
    round_id integer NOT NULL,
    staker character varying(42) NOT NULL,
    address character varying(42),
    amount numeric(78,18) NOT NULL,
    staked boolean NOT NULL,
    block_number integer NOT NULL,
    tx_hash character varying(66) NOT NULL
);

ALTER TABLE registry_gtcstakeevent ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME registry_gtcstakeevent_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY registry_gtcstakeevent
    ADD CONSTRAINT registry_gtcstakeevent_pkey PRIMARY KEY (id);

CREATE INDEX gtc_staking_index ON registry_gtcstakeevent USING btree (round_id, address, staker);
CREATE INDEX gtc_staking_index_by_staker ON registry_gtcstakeevent USING btree (round_id, staker);
CREATE INDEX registry_gtcstakeevent_address_7509de41 ON registry_gtcstakeevent USING btree (address);
CREATE INDEX registry_gtcstakeevent_address_7509de41_like ON registry_gtcstakeevent USING btree (address varchar_pattern_ops);
CREATE INDEX registry_gtcstakeevent_round_id_aae45d3f ON registry_gtcstakeevent USING btree (round_id);
CREATE INDEX registry_gtcstakeevent_staker_2d308c09 ON registry_gtcstakeevent USING btree (staker);
CREATE INDEX registry_gtcstakeevent_staker_2d308c09_like ON registry_gtcstakeevent USING btree (staker varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- ceramic_cache_ceramiccache
-- --------------------------------------------------------------------------

CREATE TABLE ceramic_cache_ceramiccache (
    id bigint NOT NULL,
    address character varying(100),
    provider character varying(256) NOT NULL,
    stamp jsonb NOT NULL,
    created_at timestamp with time zone,
    updated_at timestamp with time zone NOT NULL,
    type integer NOT NULL,
    deleted_at timestamp with time zone,
    compose_db_save_status character varying(10) NOT NULL,
    compose_db_stream_id character varying(100) NOT NULL,
    expiration_date timestamp with time zone,
    issuance_date timestamp with time zone,
    proof_value character varying(256) NOT NULL,
    source_app integer,
    source_scorer_id bigint
);

ALTER TABLE ceramic_cache_ceramiccache ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME ceramic_cache_ceramiccache_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ceramic_cache_ceramiccache
    ADD CONSTRAINT ceramic_cache_ceramiccache_pkey PRIMARY KEY (id);

ALTER TABLE ONLY ceramic_cache_ceramiccache
    ADD CONSTRAINT ceramic_cache_ceramiccac_type_address_provider_de_91b0dfe5_uniq UNIQUE (type, address, provider, deleted_at);

CREATE INDEX ceramic_cache_ceramiccache_address_a326f586 ON ceramic_cache_ceramiccache USING btree (address);
CREATE INDEX ceramic_cache_ceramiccache_address_a326f586_like ON ceramic_cache_ceramiccache USING btree (address varchar_pattern_ops);
CREATE INDEX ceramic_cache_ceramiccache_compose_db_save_status_ba2798e2 ON ceramic_cache_ceramiccache USING btree (compose_db_save_status);
CREATE INDEX ceramic_cache_ceramiccache_compose_db_save_status_ba2798e2_like ON ceramic_cache_ceramiccache USING btree (compose_db_save_status varchar_pattern_ops);
CREATE INDEX ceramic_cache_ceramiccache_compose_db_stream_id_d977c392 ON ceramic_cache_ceramiccache USING btree (compose_db_stream_id);
CREATE INDEX ceramic_cache_ceramiccache_compose_db_stream_id_d977c392_like ON ceramic_cache_ceramiccache USING btree (compose_db_stream_id varchar_pattern_ops);
CREATE INDEX ceramic_cache_ceramiccache_created_at_8b8bf604 ON ceramic_cache_ceramiccache USING btree (created_at);
CREATE INDEX ceramic_cache_ceramiccache_deleted_at_2e65cde1 ON ceramic_cache_ceramiccache USING btree (deleted_at);
CREATE INDEX ceramic_cache_ceramiccache_expiration_date_a3d52de9 ON ceramic_cache_ceramiccache USING btree (expiration_date);
CREATE INDEX ceramic_cache_ceramiccache_issuance_date_ba8f7fb8 ON ceramic_cache_ceramiccache USING btree (issuance_date);
CREATE INDEX ceramic_cache_ceramiccache_proof_value_f0af64e8 ON ceramic_cache_ceramiccache USING btree (proof_value);
CREATE INDEX ceramic_cache_ceramiccache_proof_value_f0af64e8_like ON ceramic_cache_ceramiccache USING btree (proof_value varchar_pattern_ops);
CREATE INDEX ceramic_cache_ceramiccache_provider_05926089 ON ceramic_cache_ceramiccache USING btree (provider);
CREATE INDEX ceramic_cache_ceramiccache_provider_05926089_like ON ceramic_cache_ceramiccache USING btree (provider varchar_pattern_ops);
CREATE INDEX ceramic_cache_ceramiccache_source_app_c47146d1 ON ceramic_cache_ceramiccache USING btree (source_app);
CREATE INDEX ceramic_cache_ceramiccache_source_scorer_id_95019b25 ON ceramic_cache_ceramiccache USING btree (source_scorer_id);
CREATE INDEX ceramic_cache_ceramiccache_updated_at_bc471b72 ON ceramic_cache_ceramiccache USING btree (updated_at);
CREATE INDEX idx_cc_addr_id_not_deleted ON ceramic_cache_ceramiccache USING btree (address, id DESC) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX unique_deleted_provider_for_address ON ceramic_cache_ceramiccache USING btree (type, address, provider, deleted_at) WHERE (deleted_at IS NOT NULL);
CREATE UNIQUE INDEX unique_non_deleted_provider_for_address ON ceramic_cache_ceramiccache USING btree (type, address, provider) WHERE (deleted_at IS NULL);


-- --------------------------------------------------------------------------
-- ceramic_cache_revocationlist
-- --------------------------------------------------------------------------

CREATE TABLE ceramic_cache_revocationlist (
    id bigint NOT NULL,
    name character varying(256),
    description text,
    csv_file character varying(1024) NOT NULL
);

ALTER TABLE ceramic_cache_revocationlist ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME ceramic_cache_revocationlist_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ceramic_cache_revocationlist
    ADD CONSTRAINT ceramic_cache_revocationlist_pkey PRIMARY KEY (id);

CREATE INDEX ceramic_cache_revocationlist_name_bc38f860 ON ceramic_cache_revocationlist USING btree (name);
CREATE INDEX ceramic_cache_revocationlist_name_bc38f860_like ON ceramic_cache_revocationlist USING btree (name varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- ceramic_cache_revocation
-- --------------------------------------------------------------------------

CREATE TABLE ceramic_cache_revocation (
    id bigint NOT NULL,
    proof_value character varying(256) NOT NULL,
    ceramic_cache_id bigint NOT NULL,
    revocation_list_id bigint
);

ALTER TABLE ceramic_cache_revocation ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME ceramic_cache_revocation_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ceramic_cache_revocation
    ADD CONSTRAINT ceramic_cache_revocation_pkey PRIMARY KEY (id);

ALTER TABLE ONLY ceramic_cache_revocation
    ADD CONSTRAINT ceramic_cache_revocation_ceramic_cache_id_key UNIQUE (ceramic_cache_id);

ALTER TABLE ONLY ceramic_cache_revocation
    ADD CONSTRAINT ceramic_cache_revoca_ceramic_cache_id_3363c773_fk_ceramic_c FOREIGN KEY (ceramic_cache_id) REFERENCES ceramic_cache_ceramiccache(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY ceramic_cache_revocation
    ADD CONSTRAINT ceramic_cache_revoca_revocation_list_id_afc10362_fk_ceramic_c FOREIGN KEY (revocation_list_id) REFERENCES ceramic_cache_revocationlist(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX ceramic_cache_revocation_proof_value_8a505018 ON ceramic_cache_revocation USING btree (proof_value);
CREATE INDEX ceramic_cache_revocation_proof_value_8a505018_like ON ceramic_cache_revocation USING btree (proof_value varchar_pattern_ops);
CREATE INDEX ceramic_cache_revocation_revocation_list_id_afc10362 ON ceramic_cache_revocation USING btree (revocation_list_id);


-- --------------------------------------------------------------------------
-- ceramic_cache_banlist
-- --------------------------------------------------------------------------

CREATE TABLE ceramic_cache_banlist (
    id bigint NOT NULL,
    name character varying(256),
    description text,
    csv_file character varying(1024) NOT NULL
);

ALTER TABLE ceramic_cache_banlist ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME ceramic_cache_banlist_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ceramic_cache_banlist
    ADD CONSTRAINT ceramic_cache_banlist_pkey PRIMARY KEY (id);

CREATE INDEX ceramic_cache_banlist_name_938ecaa7 ON ceramic_cache_banlist USING btree (name);
CREATE INDEX ceramic_cache_banlist_name_938ecaa7_like ON ceramic_cache_banlist USING btree (name varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- ceramic_cache_ban
-- --------------------------------------------------------------------------

CREATE TABLE ceramic_cache_ban (
    id bigint NOT NULL,
    provider character varying(256) NOT NULL,
    hash character varying(100) NOT NULL,
    address character varying(42) NOT NULL,
    end_time timestamp with time zone,
    reason text,
    created_at timestamp with time zone NOT NULL,
    last_run_revoke_matching timestamp with time zone,
    type character varying(20) NOT NULL,
    ban_list_id bigint
);

ALTER TABLE ceramic_cache_ban ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME ceramic_cache_ban_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY ceramic_cache_ban
    ADD CONSTRAINT ceramic_cache_ban_pkey PRIMARY KEY (id);

ALTER TABLE ONLY ceramic_cache_ban
    ADD CONSTRAINT ceramic_cache_ban_ban_list_id_bb6f132a_fk_ceramic_c FOREIGN KEY (ban_list_id) REFERENCES ceramic_cache_banlist(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX ceramic_cache_ban_address_d88c387c ON ceramic_cache_ban USING btree (address);
CREATE INDEX ceramic_cache_ban_address_d88c387c_like ON ceramic_cache_ban USING btree (address varchar_pattern_ops);
CREATE INDEX ceramic_cache_ban_ban_list_id_bb6f132a ON ceramic_cache_ban USING btree (ban_list_id);
CREATE INDEX ceramic_cache_ban_created_at_2ef4f9b1 ON ceramic_cache_ban USING btree (created_at);
CREATE INDEX ceramic_cache_ban_end_time_2948ed9a ON ceramic_cache_ban USING btree (end_time);
CREATE INDEX ceramic_cache_ban_hash_852c49d9 ON ceramic_cache_ban USING btree (hash);
CREATE INDEX ceramic_cache_ban_hash_852c49d9_like ON ceramic_cache_ban USING btree (hash varchar_pattern_ops);
CREATE INDEX ceramic_cache_ban_provider_dd34ee8a ON ceramic_cache_ban USING btree (provider);
CREATE INDEX ceramic_cache_ban_provider_dd34ee8a_like ON ceramic_cache_ban USING btree (provider varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- stake_stake
-- --------------------------------------------------------------------------

CREATE TABLE stake_stake (
    id bigint NOT NULL,
    chain integer NOT NULL,
    lock_time timestamp with time zone NOT NULL,
    unlock_time timestamp with time zone NOT NULL,
    last_updated_in_block numeric(78,0) NOT NULL,
    staker character varying(42) NOT NULL,
    stakee character varying(42) NOT NULL,
    current_amount numeric(78,18) NOT NULL
);

ALTER TABLE stake_stake ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME stake_stake_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY stake_stake
    ADD CONSTRAINT stake_stake_pkey PRIMARY KEY (id);

ALTER TABLE ONLY stake_stake
    ADD CONSTRAINT stake_stake_staker_stakee_chain_fcf3d5e9_uniq UNIQUE (staker, stakee, chain);

CREATE INDEX stake_stake_chain_2b875a1d ON stake_stake USING btree (chain);
CREATE INDEX stake_stake_last_updated_in_block_3659538c ON stake_stake USING btree (last_updated_in_block);
CREATE INDEX stake_stake_stakee_1015ebfc ON stake_stake USING btree (stakee);
CREATE INDEX stake_stake_stakee_1015ebfc_like ON stake_stake USING btree (stakee varchar_pattern_ops);
CREATE INDEX stake_stake_staker_51f438f8 ON stake_stake USING btree (staker);
CREATE INDEX stake_stake_staker_51f438f8_like ON stake_stake USING btree (staker varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- cgrants_profile
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_profile (
    id bigint NOT NULL,
    handle character varying(255) NOT NULL,
    data jsonb NOT NULL,
    github_id bigint,
    notes text
);

ALTER TABLE cgrants_profile ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_profile_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_profile
    ADD CONSTRAINT cgrants_profile_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_profile
    ADD CONSTRAINT cgrants_profile_handle_key UNIQUE (handle);

CREATE INDEX cgrants_profile_github_id_f9dd96ad ON cgrants_profile USING btree (github_id);
CREATE INDEX cgrants_profile_handle_d5972cf8_like ON cgrants_profile USING btree (handle varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- cgrants_grant
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_grant (
    id bigint NOT NULL,
    hidden boolean NOT NULL,
    active boolean NOT NULL,
    is_clr_eligible boolean NOT NULL,
    data jsonb NOT NULL,
    admin_profile_id bigint NOT NULL
);

ALTER TABLE cgrants_grant ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_grant_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_grant
    ADD CONSTRAINT cgrants_grant_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_grant
    ADD CONSTRAINT cgrants_grant_admin_profile_id_c17e76f3_fk_cgrants_profile_id FOREIGN KEY (admin_profile_id) REFERENCES cgrants_profile(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX cgrants_grant_active_2099dea6 ON cgrants_grant USING btree (active);
CREATE INDEX cgrants_grant_admin_profile_id_c17e76f3 ON cgrants_grant USING btree (admin_profile_id);
CREATE INDEX cgrants_grant_hidden_c8ce8ddd ON cgrants_grant USING btree (hidden);


-- --------------------------------------------------------------------------
-- cgrants_subscription
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_subscription (
    id bigint NOT NULL,
    data jsonb NOT NULL,
    contributor_profile_id bigint,
    grant_id bigint NOT NULL,
    is_mainnet boolean NOT NULL
);

ALTER TABLE cgrants_subscription ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_subscription_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_subscription
    ADD CONSTRAINT cgrants_subscription_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_subscription
    ADD CONSTRAINT cgrants_subscription_contributor_profile__4c5a1727_fk_cgrants_p FOREIGN KEY (contributor_profile_id) REFERENCES cgrants_profile(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY cgrants_subscription
    ADD CONSTRAINT cgrants_subscription_grant_id_f67f3c3d_fk_cgrants_grant_id FOREIGN KEY (grant_id) REFERENCES cgrants_grant(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX cgrants_subscription_contributor_profile_id_4c5a1727 ON cgrants_subscription USING btree (contributor_profile_id);
CREATE INDEX cgrants_subscription_grant_id_f67f3c3d ON cgrants_subscription USING btree (grant_id);


-- --------------------------------------------------------------------------
-- cgrants_contribution
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_contribution (
    id bigint NOT NULL,
    data jsonb NOT NULL,
    subscription_id bigint NOT NULL,
    success boolean NOT NULL,
    amount_per_period_usdt numeric(64,18) NOT NULL
);

ALTER TABLE cgrants_contribution ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_contribution_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_contribution
    ADD CONSTRAINT cgrants_contribution_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_contribution
    ADD CONSTRAINT cgrants_contribution_subscription_id_583fd59b_fk_cgrants_s FOREIGN KEY (subscription_id) REFERENCES cgrants_subscription(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX cgrants_contribution_subscription_id_583fd59b ON cgrants_contribution USING btree (subscription_id);


-- --------------------------------------------------------------------------
-- cgrants_grantcontributionindex
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_grantcontributionindex (
    id bigint NOT NULL,
    round_num integer,
    amount numeric(64,18) NOT NULL,
    contribution_id bigint,
    grant_id bigint NOT NULL,
    profile_id bigint NOT NULL,
    contributor_address character varying(100)
);

ALTER TABLE cgrants_grantcontributionindex ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_grantcontributionindex_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_grantcontributionindex
    ADD CONSTRAINT cgrants_grantcontributionindex_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_grantcontributionindex
    ADD CONSTRAINT cgrants_grantcontrib_contribution_id_fbed3ed7_fk_cgrants_c FOREIGN KEY (contribution_id) REFERENCES cgrants_contribution(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY cgrants_grantcontributionindex
    ADD CONSTRAINT cgrants_grantcontrib_grant_id_a3e23458_fk_cgrants_g FOREIGN KEY (grant_id) REFERENCES cgrants_grant(id) DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY cgrants_grantcontributionindex
    ADD CONSTRAINT cgrants_grantcontrib_profile_id_227259f7_fk_cgrants_p FOREIGN KEY (profile_id) REFERENCES cgrants_profile(id) DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX cgrants_grantcontributio_contributor_address_5d4aef43_like ON cgrants_grantcontributionindex USING btree (contributor_address varchar_pattern_ops);
CREATE INDEX cgrants_grantcontributionindex_amount_405a7875 ON cgrants_grantcontributionindex USING btree (amount);
CREATE INDEX cgrants_grantcontributionindex_contribution_id_fbed3ed7 ON cgrants_grantcontributionindex USING btree (contribution_id);
CREATE INDEX cgrants_grantcontributionindex_contributor_address_5d4aef43 ON cgrants_grantcontributionindex USING btree (contributor_address);
CREATE INDEX cgrants_grantcontributionindex_grant_id_a3e23458 ON cgrants_grantcontributionindex USING btree (grant_id);
CREATE INDEX cgrants_grantcontributionindex_profile_id_227259f7 ON cgrants_grantcontributionindex USING btree (profile_id);


-- --------------------------------------------------------------------------
-- cgrants_protocolcontributions
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_protocolcontributions (
    id bigint NOT NULL,
    ext_id character varying(66) NOT NULL,
    contributor character varying(100) NOT NULL,
    round character varying(100) NOT NULL,
    project character varying(100) NOT NULL,
    amount numeric(64,18) NOT NULL,
    data jsonb NOT NULL
);

ALTER TABLE cgrants_protocolcontributions ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_protocolcontributions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_protocolcontributions
    ADD CONSTRAINT cgrants_protocolcontributions_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_protocolcontributions
    ADD CONSTRAINT cgrants_protocolcontributions_ext_id_key UNIQUE (ext_id);

CREATE INDEX cgrants_protocolcontributions_amount_6906e261 ON cgrants_protocolcontributions USING btree (amount);
CREATE INDEX cgrants_protocolcontributions_contributor_5b32637f ON cgrants_protocolcontributions USING btree (contributor);
CREATE INDEX cgrants_protocolcontributions_contributor_5b32637f_like ON cgrants_protocolcontributions USING btree (contributor varchar_pattern_ops);
CREATE INDEX cgrants_protocolcontributions_ext_id_c97518f8_like ON cgrants_protocolcontributions USING btree (ext_id varchar_pattern_ops);
CREATE INDEX cgrants_protocolcontributions_project_9247ecff ON cgrants_protocolcontributions USING btree (project);
CREATE INDEX cgrants_protocolcontributions_project_9247ecff_like ON cgrants_protocolcontributions USING btree (project varchar_pattern_ops);
CREATE INDEX cgrants_protocolcontributions_round_a00f486c ON cgrants_protocolcontributions USING btree (round);
CREATE INDEX cgrants_protocolcontributions_round_a00f486c_like ON cgrants_protocolcontributions USING btree (round varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- cgrants_squelchedaccounts
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_squelchedaccounts (
    id bigint NOT NULL,
    address character varying(100),
    score_when_squelched numeric(64,18) NOT NULL,
    sybil_signal boolean NOT NULL,
    round_number character varying(100) NOT NULL
);

ALTER TABLE cgrants_squelchedaccounts ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_squelchedaccounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_squelchedaccounts
    ADD CONSTRAINT cgrants_squelchedaccounts_pkey PRIMARY KEY (id);

CREATE INDEX cgrants_squelchedaccounts_address_8effc17b ON cgrants_squelchedaccounts USING btree (address);
CREATE INDEX cgrants_squelchedaccounts_address_8effc17b_like ON cgrants_squelchedaccounts USING btree (address varchar_pattern_ops);


-- --------------------------------------------------------------------------
-- cgrants_roundmapping
-- --------------------------------------------------------------------------

CREATE TABLE cgrants_roundmapping (
    id bigint NOT NULL,
    round_number character varying(100) NOT NULL,
    round_eth_address character varying(100) NOT NULL
);

ALTER TABLE cgrants_roundmapping ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME cgrants_roundmapping_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE ONLY cgrants_roundmapping
    ADD CONSTRAINT cgrants_roundmapping_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cgrants_roundmapping
    ADD CONSTRAINT cgrants_roundmapping_round_number_round_eth_a_c92a02f4_uniq UNIQUE (round_number, round_eth_address);

CREATE INDEX cgrants_roundmapping_round_eth_address_2898745f ON cgrants_roundmapping USING btree (round_eth_address);
CREATE INDEX cgrants_roundmapping_round_eth_address_2898745f_like ON cgrants_roundmapping USING btree (round_eth_address varchar_pattern_ops);
