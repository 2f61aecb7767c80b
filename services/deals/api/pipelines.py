"""/pipelines: the sales technology (ordered stages with probability, SLA days and the responsible role), and
the kanban board of a pipeline. Admins and heads of sales edit; everyone who may see deals reads."""
from flask.views import MethodView

from glassbox.app import current_db
from glassbox.auth import current_principal
from glassbox.web import Blueprint
from services.deals.schemas import (BoardQueryArgs, BoardSchema, PipelineCreateSchema, PipelinePageSchema,
                                    PipelineQueryArgs, PipelineSchema, PipelineUpdateSchema, StageAddSchema,
                                    StageOrderSchema, StageUpdateSchema)
from services.deals.service import board, pipelines

blp = Blueprint("pipelines", __name__, description="Pipelines and their stages, and the board of each")


@blp.route("/pipelines")
class Pipelines(MethodView):
    @blp.arguments(PipelineQueryArgs, location="query")
    @blp.response(200, PipelinePageSchema)
    def get(self, args):
        return pipelines.list_pipelines(current_db(), current_principal(), args)

    @blp.arguments(PipelineCreateSchema)
    @blp.response(201, PipelineSchema)
    def post(self, data):
        """Create a pipeline with its stages, in order; `is_default: true` takes the default from the current one."""
        return pipelines.create_pipeline(current_db(), current_principal(), data)


@blp.route("/pipelines/<uuid:pipeline_id>")
class PipelineItem(MethodView):
    @blp.response(200, PipelineSchema)
    def get(self, pipeline_id):
        return pipelines.get_pipeline(current_db(), current_principal(), pipeline_id)

    @blp.arguments(PipelineUpdateSchema)
    @blp.response(200, PipelineSchema)
    def patch(self, changes, pipeline_id):
        """Rename the pipeline, or make it the default."""
        return pipelines.update_pipeline(current_db(), current_principal(), pipeline_id, changes)


@blp.route("/pipelines/<uuid:pipeline_id>/stages")
class PipelineStages(MethodView):
    @blp.arguments(StageAddSchema)
    @blp.response(201, PipelineSchema)
    def post(self, data, pipeline_id):
        """Add a stage at `position` among the active ones (default: last); answers the whole pipeline."""
        return pipelines.add_stage(current_db(), current_principal(), pipeline_id, data)


@blp.route("/pipelines/<uuid:pipeline_id>/stages/<uuid:stage_id>")
class PipelineStage(MethodView):
    @blp.arguments(StageUpdateSchema)
    @blp.response(200, PipelineSchema)
    def patch(self, changes, pipeline_id, stage_id):
        """Change a stage's name, probability, SLA days or responsible role; answers the whole pipeline."""
        return pipelines.update_stage(current_db(), current_principal(), pipeline_id, stage_id, changes)

    @blp.response(204)
    def delete(self, pipeline_id, stage_id):
        """Remove a stage: 409 while any deal (open or closed) is in it; a stage that deals passed through stays,
        inactive, for their history."""
        pipelines.remove_stage(current_db(), current_principal(), pipeline_id, stage_id)


@blp.route("/pipelines/<uuid:pipeline_id>/stage-order")
class PipelineStageOrder(MethodView):
    @blp.arguments(StageOrderSchema)
    @blp.response(200, PipelineSchema)
    def put(self, data, pipeline_id):
        """Put the active stages in a new order (every one of them, once); deals stay in their stages."""
        return pipelines.reorder_stages(current_db(), current_principal(), pipeline_id, data["stage_ids"])


@blp.route("/pipelines/<uuid:pipeline_id>/board")
class PipelineBoard(MethodView):
    @blp.arguments(BoardQueryArgs, location="query")
    @blp.response(200, BoardSchema)
    def get(self, args, pipeline_id):
        """The kanban: per active stage, the open deals' count, amount sums per currency and stalled count (a
        manager's own deals; all, or one owner's, for the others); won and lost totals since `closed_from`."""
        return board.board(current_db(), current_principal(), pipeline_id, args)
